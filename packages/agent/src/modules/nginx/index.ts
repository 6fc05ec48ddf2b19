import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SerialQueue } from '../../lib/serial.js';
import { defineCommand, defineModule, HandlerFailure, type CommandContext, type ModuleInstance } from '../types.js';
import { put, sameAs, sha256, snapshot, type FileSet } from './file-set.js';
import { headline, isInstalled, masterPid, reload, requireInstalled, testConfig, version } from './nginx-program.js';
import { NginxSiteRemovePayload, SiteSpec } from './payload.js';
import { EmptyPayload } from '@steward/protocol/modules';
import { describeSite, MANAGED_HEADER, renderSite, sitePaths } from './render.js';
import { NginxSettings } from './settings.js';

/** The started module: its validated settings and the queue that keeps changes one at a time. */
class NginxModule implements ModuleInstance {
  readonly queue = new SerialQueue();
  constructor(readonly settings: NginxSettings) {}
  async stop(): Promise<void> {
    await this.queue.run(async () => {});
  }
}

function instance(ctx: CommandContext): NginxModule {
  if (!(ctx.module instanceof NginxModule)) throw new HandlerFailure('module_not_started', 'the nginx module is not running on this agent');
  return ctx.module;
}

/** Refuses to overwrite a file in the sites dir that Steward did not write. */
async function assertManaged(conf: string): Promise<void> {
  const text = await readFile(conf, 'utf8').catch((e) => ((e as NodeJS.ErrnoException).code === 'ENOENT' ? null : Promise.reject(e)));
  if (text !== null && !text.startsWith(MANAGED_HEADER)) {
    throw new HandlerFailure('not_managed', `${conf} exists and was not written by Steward; remove or rename it first`, { details: { file: conf } });
  }
}

/**
 * Puts `want` in place, then `nginx -t`; when the test fails, puts back what was there and fails
 * with nginx's message, so the running nginx never sees a config it would refuse.
 */
async function change(s: NginxSettings, want: FileSet, ctx: CommandContext): Promise<{ changed: boolean; reloaded: boolean; running: boolean }> {
  const before = await snapshot(want);
  if (sameAs(want, before)) return { changed: false, reloaded: false, running: (await masterPid(s)) !== null };
  await mkdir(s.sitesDir, { recursive: true });
  await mkdir(s.tlsDir, { recursive: true, mode: 0o700 });
  try {
    await put(want);
  } catch (e) {
    await put(before);
    throw e;
  }
  const test = await testConfig(s, ctx.signal).catch(async (e) => {
    await put(before);
    throw e;
  });
  if (!test.ok) {
    await put(before);
    throw new HandlerFailure('nginx_test_failed', `nginx -t refused the change, the previous files are back: ${headline(test.output)}`, {
      details: { output: test.output },
    });
  }
  return { changed: true, ...(await reload(s)) };
}

const apply = defineCommand({
  type: 'nginx.site.apply',
  description: 'Creates or replaces a site: renders its file, tests with nginx -t, reloads; a refused change is rolled back.',
  payload: SiteSpec,
  safeToRerun: true,
  handler: async (spec, ctx) => {
    const mod = instance(ctx);
    const s = mod.settings;
    // Rendering first: a refused value fails before anything is touched.
    const paths = sitePaths(s, spec.name);
    const text = renderSite(spec, paths);
    await requireInstalled(s);
    return mod.queue.run(async () => {
      await assertManaged(paths.conf);
      const want: FileSet = new Map([
        [paths.cert, spec.tls ? { data: Buffer.from(spec.tls.certPem), mode: 0o600 } : null],
        [paths.key, spec.tls ? { data: Buffer.from(spec.tls.keyPem), mode: 0o600 } : null],
        [paths.conf, { data: Buffer.from(text), mode: 0o644 }],
      ]);
      const outcome = await change(s, want, ctx);
      if (outcome.changed) ctx.log.info({ site: spec.name, reloaded: outcome.reloaded }, 'nginx site applied');
      return { name: spec.name, file: paths.conf, sha256: sha256(text), ...outcome };
    });
  },
});

const remove = defineCommand({
  type: 'nginx.site.remove',
  description: 'Removes a site Steward applied (its file, certificate and key), tests and reloads.',
  payload: NginxSiteRemovePayload,
  safeToRerun: true,
  handler: async (p, ctx) => {
    const mod = instance(ctx);
    const s = mod.settings;
    const paths = sitePaths(s, p.name);
    await requireInstalled(s);
    return mod.queue.run(async () => {
      await assertManaged(paths.conf);
      const outcome = await change(s, new Map([[paths.conf, null], [paths.cert, null], [paths.key, null]]), ctx);
      if (outcome.changed) ctx.log.info({ site: p.name, reloaded: outcome.reloaded }, 'nginx site removed');
      return { name: p.name, ...outcome };
    });
  },
});

const list = defineCommand({
  type: 'nginx.site.list',
  description: 'Sites Steward manages in the sites dir (files it did not write are left out).',
  payload: EmptyPayload,
  safeToRerun: true,
  handler: async (_p, ctx) => {
    const s = instance(ctx).settings;
    const names = await readdir(s.sitesDir).catch((e) => ((e as NodeJS.ErrnoException).code === 'ENOENT' ? [] : Promise.reject(e)));
    const sites = [];
    for (const file of names.filter((n) => n.endsWith('.conf')).sort()) {
      const text = await readFile(join(s.sitesDir, file), 'utf8').catch(() => null);
      const info = text === null ? null : describeSite(text);
      if (info) sites.push({ name: file.slice(0, -'.conf'.length), file: join(s.sitesDir, file), sha256: sha256(text!), ...info });
    }
    return { sitesDir: s.sitesDir, sites };
  },
});

const status = defineCommand({
  type: 'nginx.status',
  description: 'Whether nginx is installed and running, its version, and whether its config passes nginx -t.',
  payload: EmptyPayload,
  safeToRerun: true,
  handler: async (_p, ctx) => {
    const s = instance(ctx).settings;
    if (!(await isInstalled(s))) return { installed: false, running: false, binary: s.binary, message: `nginx is not installed (${s.binary} not found)` };
    const pid = await masterPid(s);
    const test = await testConfig(s, ctx.signal);
    return {
      installed: true,
      binary: s.binary,
      version: await version(s, ctx.signal),
      running: pid !== null,
      pid,
      configFile: s.configFile,
      configOk: test.ok,
      ...(test.ok ? {} : { configError: headline(test.output) }),
    };
  },
});

export default defineModule({
  name: 'nginx',
  description: 'nginx sites: rendered from a validated spec, tested with nginx -t, reloaded, rolled back when refused.',
  settings: NginxSettings,
  start: async (rt) => new NginxModule(rt.settings as NginxSettings),
  commands: [apply, remove, list, status],
});
