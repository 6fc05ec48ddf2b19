import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Logger } from 'pino';
import type { FieldIssue } from '@steward/protocol';
import { isGzip } from '../lib/gzip.js';
import type { ServerLink } from '../link/server-link.js';
import { PluginInstallError } from './errors.js';
import { ENTRY, MANIFEST, manifestFor, MAX_PLUGIN_BYTES, readPlugin } from './manifest.js';

/** tar is loaded on first use: most agents never unpack or pack an archive (issue 17: idle footprint). */
const loadTar = () => import('tar');

/** A plugin the pushed config asks for: its artifact in the control plane's store. */
export interface PluginRef {
  name: string;
  sha256: string;
}

/** Written into a plugin folder the pushed config installed: only such folders are removed when the list drops them. */
export const INSTALLED_MARKER = '.steward-artifact';
/** Staging and trash for installs, inside the plugins dir (same file system: renames are atomic); dot folders are not plugins. */
const STAGING = '.staging';

export interface PreparedPlugins {
  /** Plugins that will be installed or replaced, and installed-by-config ones that will be removed. */
  install: string[];
  remove: string[];
  /** Moves the staged plugins into place and removes the dropped ones; the watcher then loads them. */
  commit(): Promise<void>;
  /** Throws the staged plugins away; nothing changed. */
  discard(): Promise<void>;
}

async function walk(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p, base)));
    else if (e.isFile()) out.push(relative(base, p));
  }
  return out;
}

function failure(i: number, field: 'name' | 'sha256', message: string): PluginInstallError {
  const issues: FieldIssue[] = [{ field: `plugins[${i}].${field}`, rule: message }];
  return new PluginInstallError('plugin_install_failed', `plugins[${i}]: ${message}`, { issues });
}

/**
 * Installs the plugins a pushed config lists from the artifact store, never half: `prepare`
 * downloads each new one (SHA-256 checked while it streams), unpacks it into a staging folder and
 * checks it is a complete plugin, all before anything in the plugins dir changes; `commit` then
 * renames them into place. A wrong checksum, a missing artifact or a bad archive fails `prepare`
 * with the entry named, and nothing is installed.
 */
export class PluginInstaller {
  constructor(
    private readonly o: {
      dir: string;
      link: ServerLink;
      log: Logger;
      /** Names no plugin may take (built-in modules). */
      reserved: ReadonlySet<string>;
      /** Called after a commit (the manager's scan), so the new plugins load before it resolves. */
      changed?: () => Promise<void>;
    },
  ) {}

  private async marker(name: string): Promise<string | null> {
    try {
      return (await readFile(join(this.o.dir, name, INSTALLED_MARKER), 'utf8')).trim();
    } catch {
      return null;
    }
  }

  private async exists(name: string): Promise<boolean> {
    return (await readdir(this.o.dir).catch(() => [] as string[])).includes(name);
  }

  async prepare(list: readonly PluginRef[], signal?: AbortSignal): Promise<PreparedPlugins> {
    const staging = join(this.o.dir, STAGING, randomBytes(6).toString('hex'));
    await mkdir(staging, { recursive: true, mode: 0o700 });
    const discard = () => rm(staging, { recursive: true, force: true });
    const staged: { name: string; path: string }[] = [];
    try {
      const seen = new Set<string>();
      for (const [i, ref] of list.entries()) {
        if (seen.has(ref.name)) throw failure(i, 'name', `${ref.name} is listed twice`);
        seen.add(ref.name);
        if (this.o.reserved.has(ref.name)) throw failure(i, 'name', `${ref.name} is a built-in module`);
        const marker = await this.marker(ref.name);
        if (marker === ref.sha256) continue; // installed already
        if (marker === null && (await this.exists(ref.name))) {
          throw failure(i, 'name', `a plugin ${ref.name} was installed by hand in ${this.o.dir}; the pushed config does not replace it`);
        }
        staged.push({ name: ref.name, path: await this.stage(i, ref, staging, signal) });
      }
      const remove: string[] = [];
      for (const name of await readdir(this.o.dir).catch(() => [] as string[])) {
        if (!name.startsWith('.') && !seen.has(name) && (await this.marker(name)) !== null) remove.push(name);
      }
      return {
        install: staged.map((s) => s.name),
        remove,
        discard,
        commit: async () => {
          try {
            await this.commit(staged, remove, staging);
          } finally {
            await discard();
          }
          await this.o.changed?.();
        },
      };
    } catch (e) {
      await discard();
      throw e;
    }
  }

  /** Prepares and commits at once. */
  async apply(list: readonly PluginRef[], signal?: AbortSignal): Promise<{ install: string[]; remove: string[] }> {
    const p = await this.prepare(list, signal);
    await p.commit();
    return { install: p.install, remove: p.remove };
  }

  private async stage(i: number, ref: PluginRef, staging: string, signal?: AbortSignal): Promise<string> {
    const download = join(staging, `${ref.name}.download`);
    try {
      await this.o.link.downloadArtifact(ref.sha256, download, { maxBytes: MAX_PLUGIN_BYTES, ...(signal ? { signal } : {}) });
    } catch (e) {
      throw failure(i, 'sha256', `artifact ${ref.sha256} of plugin ${ref.name}: ${(e as Error).message}`);
    }
    const unpacked = join(staging, ref.name);
    await mkdir(unpacked, { mode: 0o700 });
    if (isGzip(download)) {
      let bytes = 0;
      let refusedEntry: string | undefined;
      try {
        await (await loadTar()).x({
          file: download,
          cwd: unpacked,
          strict: true,
          preservePaths: false,
          // Plain files and folders only: a link could point outside the plugin folder.
          filter: (path, entry) => {
            const type = 'type' in entry ? entry.type : 'File';
            if (type !== 'File' && type !== 'Directory') {
              refusedEntry ??= path;
              return false;
            }
            bytes += 'size' in entry ? entry.size : 0;
            return bytes <= MAX_PLUGIN_BYTES;
          },
        });
      } catch (e) {
        throw failure(i, 'sha256', `cannot unpack the .tar.gz of plugin ${ref.name}: ${(e as Error).message}`);
      }
      if (refusedEntry) throw failure(i, 'sha256', `the .tar.gz of plugin ${ref.name} holds ${refusedEntry}, which is not a plain file or folder`);
      if (bytes > MAX_PLUGIN_BYTES) throw failure(i, 'sha256', `plugin ${ref.name} unpacks to more than ${MAX_PLUGIN_BYTES} bytes`);
    } else {
      await copyFile(download, join(unpacked, ENTRY));
    }
    await rm(download, { force: true });
    const root = await this.rootOf(unpacked);
    if (!root) throw failure(i, 'sha256', `the artifact of plugin ${ref.name} has no ${ENTRY} (at its top or in its one folder)`);
    const files = await walk(root);
    if (!files.includes(MANIFEST)) {
      // A plugin shipped without a manifest: the verified artifact vouches for its files.
      const contents = Object.fromEntries(await Promise.all(files.map(async (f) => [f, await readFile(join(root, f))] as const)));
      await writeFile(join(root, MANIFEST), JSON.stringify(manifestFor(ref.name, ref.sha256.slice(0, 12), contents), null, 2));
    }
    let read: Awaited<ReturnType<typeof readPlugin>>;
    try {
      read = await readPlugin(root, ref.name);
    } catch (e) {
      throw failure(i, 'sha256', (e as Error).message);
    }
    if ('incomplete' in read) throw failure(i, 'sha256', `plugin ${ref.name} in the artifact is not whole: ${read.incomplete}`);
    await writeFile(join(root, INSTALLED_MARKER), ref.sha256 + '\n');
    return root;
  }

  /** The folder holding index.mjs: the archive's top, or its single top-level folder. */
  private async rootOf(dir: string): Promise<string | null> {
    const entries = await readdir(dir, { withFileTypes: true });
    if (entries.some((e) => e.isFile() && e.name === ENTRY)) return dir;
    if (entries.length === 1 && entries[0]!.isDirectory()) {
      const inner = join(dir, entries[0]!.name);
      if ((await readdir(inner)).includes(ENTRY)) return inner;
    }
    return null;
  }

  private async commit(staged: { name: string; path: string }[], remove: string[], staging: string): Promise<void> {
    // Each folder appears or goes by one rename; the old version is moved aside first.
    for (const s of staged) {
      const target = join(this.o.dir, s.name);
      const old = join(staging, `${s.name}.old`);
      await rename(target, old).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
      await rename(s.path, target);
      this.o.log.info({ plugin: s.name }, `plugin ${s.name} installed from the artifact store`);
    }
    for (const name of remove) {
      await rename(join(this.o.dir, name), join(staging, `${name}.removed`));
      this.o.log.info({ plugin: name }, `plugin ${name} removed: the pushed config no longer lists it`);
    }
  }
}
