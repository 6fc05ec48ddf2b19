import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { pino } from 'pino';
import * as tar from 'tar';
import { afterEach, describe, expect, it } from 'vitest';
import { INSTALLED_MARKER, PluginInstaller } from '../../src/plugins/installer.js';
import { tempDir, testLink } from '../modules/context.js';
import { copyExample, HELLO_EXAMPLE, pluginSource, writePlugin } from './fixtures.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

/** A loopback artifact store: serves the blobs given by their SHA-256, 404 for anything else. */
async function store(blobs: Buffer[]): Promise<string> {
  const bySha = new Map(blobs.map((b) => [sha(b), b]));
  const server = createServer((req, res) => {
    const blob = bySha.get(req.url!.split('/').pop()!);
    if (!blob) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found","message":"no such artifact"}}');
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(blob);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

async function tgz(dir: string, files: string[]): Promise<Buffer> {
  const out = join(await tempDir(), 'p.tar.gz');
  await tar.c({ gzip: true, file: out, cwd: dir, portable: true }, files);
  return readFileSync(out);
}

async function setup(blobs: Buffer[]) {
  const dir = join(await tempDir(), 'plugins');
  mkdirSync(dir);
  const changed: number[] = [];
  const installer = new PluginInstaller({
    dir,
    link: testLink(await store(blobs), 'credential'),
    log: pino({ level: 'silent' }),
    reserved: new Set(['sys']),
    changed: async () => void changed.push(Date.now()),
  });
  return { dir, installer, changed };
}

const folders = (dir: string) => readdirSync(dir).filter((n) => !n.startsWith('.')).sort();
const staging = (dir: string) => (existsSync(join(dir, '.staging')) ? readdirSync(join(dir, '.staging')) : []);

describe('plugin installer', () => {
  it('installs a .tar.gz (files at the top or in one folder) and a single index.mjs, marked as pushed', async () => {
    const top = await tgz(HELLO_EXAMPLE, ['index.mjs', 'plugin.json']);
    const src = await tempDir();
    writePlugin(src, 'nested', pluginSource('nested', 'n'));
    const nested = await tgz(src, ['nested']);
    const single = Buffer.from(pluginSource('single', 's'));
    const { dir, installer, changed } = await setup([top, nested, single]);
    const done = await installer.apply([
      { name: 'hello', sha256: sha(top) },
      { name: 'nested', sha256: sha(nested) },
      { name: 'single', sha256: sha(single) },
    ]);
    expect(done).toEqual({ install: ['hello', 'nested', 'single'], remove: [] });
    expect(folders(dir)).toEqual(['hello', 'nested', 'single']);
    expect(readFileSync(join(dir, 'hello', 'index.mjs'))).toEqual(readFileSync(join(HELLO_EXAMPLE, 'index.mjs')));
    expect(readFileSync(join(dir, 'single', INSTALLED_MARKER), 'utf8').trim()).toBe(sha(single));
    // A single file gets the manifest the agent wrote for it.
    expect(JSON.parse(readFileSync(join(dir, 'single', 'plugin.json'), 'utf8'))).toEqual({ name: 'single', version: sha(single).slice(0, 12), sha256: { 'index.mjs': sha(single) } });
    expect(changed).toHaveLength(1);
    expect(staging(dir)).toEqual([]);
    // The same list again changes nothing.
    expect(await installer.apply([{ name: 'hello', sha256: sha(top) }, { name: 'nested', sha256: sha(nested) }, { name: 'single', sha256: sha(single) }])).toEqual({ install: [], remove: [] });
  });

  it('refuses the whole list, installing nothing, when one entry fails', async () => {
    const good = Buffer.from(pluginSource('good', 'g'));
    const src = await tempDir();
    mkdirSync(join(src, 'linky'));
    writeFileSync(join(src, 'linky', 'index.mjs'), pluginSource('linky', 'l'));
    symlinkSync('/etc/passwd', join(src, 'linky', 'passwd'));
    const linked = await tgz(join(src, 'linky'), ['index.mjs', 'passwd']);
    const noEntry = await tgz(HELLO_EXAMPLE, ['plugin.json']);
    const hello = await tgz(HELLO_EXAMPLE, ['index.mjs', 'plugin.json']);
    const { dir, installer } = await setup([good, linked, noEntry, hello]);
    const cases: [string, string, string][] = [
      ['missing', 'f'.repeat(64), 'plugins[1]: artifact ffff'],
      ['linky', sha(linked), 'plugins[1]: the .tar.gz of plugin linky holds passwd, which is not a plain file or folder'],
      ['hello', sha(noEntry), 'plugins[1]: the artifact of plugin hello has no index.mjs'],
      ['other', sha(hello), 'plugins[1]: plugin "other": plugin.json names "hello"; the folder must have the plugin\'s name'],
      ['sys', sha(good), 'plugins[1]: sys is a built-in module'],
    ];
    for (const [name, sha256, message] of cases) {
      const e = await installer.apply([{ name: 'good', sha256: sha(good) }, { name, sha256 }]).catch((x: unknown) => x);
      expect(e, name).toMatchObject({ code: 'plugin_install_failed' });
      expect((e as Error).message, name).toContain(message);
      expect(folders(dir), name).toEqual([]);
      expect(staging(dir), name).toEqual([]);
    }
    // Listed twice.
    await expect(installer.apply([{ name: 'good', sha256: sha(good) }, { name: 'good', sha256: sha(good) }])).rejects.toMatchObject({
      details: { issues: [{ field: 'plugins[1].name', rule: 'good is listed twice' }] },
    });
  });

  it('removes what it installed when the list drops it, never a hand-installed plugin, and does not replace one', async () => {
    const a = Buffer.from(pluginSource('alpha', 'a'));
    const { dir, installer } = await setup([a]);
    copyExample(dir);
    await installer.apply([{ name: 'alpha', sha256: sha(a) }]);
    expect(folders(dir)).toEqual(['alpha', 'hello']);
    await expect(installer.apply([{ name: 'hello', sha256: sha(a) }])).rejects.toThrow('a plugin hello was installed by hand');
    expect(folders(dir)).toEqual(['alpha', 'hello']);
    expect(await installer.apply([])).toEqual({ install: [], remove: ['alpha'] });
    expect(folders(dir)).toEqual(['hello']);
    expect(staging(dir)).toEqual([]);
  });
});
