import { randomBytes } from 'node:crypto';
import { chmod, lchown, lstat, mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AgentConfig } from '../../src/config.js';
import backupModule from '../../src/modules/backup/index.js';
import { ExcludeMatcher } from '../../src/modules/backup/exclude.js';
import { loadModules, type ModuleRegistry } from '../../src/modules/registry.js';
import type { CommandContext, ModuleInstance } from '../../src/modules/types.js';
import { failure, run, tempDir, testConfig, testContext, testLink } from './context.js';

let registry: ModuleRegistry;
beforeAll(async () => {
  registry = await loadModules(['backup']);
});

let tmp: string;
let root: string;
let config: AgentConfig;
let instance: ModuleInstance;
let n = 0;
/** Each command gets its own id, as the executor would give it. */
const ctx = (): CommandContext => ({ ...testContext(config, undefined, { module: instance }), commandId: `cmd_test${n++}` });
const bk = (type: string, payload: unknown) => run(registry, `backup.${type}`, payload, ctx());
const bkFail = (type: string, payload: unknown) => failure(bk(type, payload));

/** Every entry under `dir`: path → [type, mode, content]. */
async function tree(dir: string): Promise<Record<string, [string, string, string]>> {
  const out: Record<string, [string, string, string]> = {};
  const walk = async (d: string, rel: string) => {
    for (const name of (await readdir(d)).sort()) {
      const abs = join(d, name);
      const path = rel ? `${rel}/${name}` : name;
      const st = await lstat(abs);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[path] = ['link', '', await readlink(abs)];
      else if (st.isDirectory()) {
        out[path] = ['dir', mode, ''];
        await walk(abs, path);
      } else out[path] = ['file', mode, (await readFile(abs)).toString('base64')];
    }
  };
  await walk(dir, '');
  return out;
}

beforeEach(async () => {
  tmp = await tempDir();
  root = join(tmp, 'root');
  await mkdir(join(root, 'site/a/b'), { recursive: true });
  await mkdir(join(root, 'site/node_modules/x'), { recursive: true });
  await mkdir(join(root, 'site/cache/tmp'), { recursive: true });
  await writeFile(join(root, 'site/index.html'), '<h1>hi</h1>\n');
  await writeFile(join(root, 'site/a/b/data.bin'), randomBytes(300_000));
  await writeFile(join(root, 'site/a/script.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(root, 'site/a/script.sh'), 0o750);
  await writeFile(join(root, 'site/a/private'), 'secret');
  await chmod(join(root, 'site/a/private'), 0o600);
  await writeFile(join(root, 'site/empty'), '');
  await writeFile(join(root, 'site/debug.log'), 'noise');
  await writeFile(join(root, 'site/node_modules/x/y.js'), 'module');
  await writeFile(join(root, 'site/cache/tmp/c'), 'cache');
  await writeFile(join(root, 'site/cache/keep'), 'kept');
  await symlink('a/b/data.bin', join(root, 'site/link'));
  config = testConfig(tmp, (c) => (c.fs.roots = [root]));
  instance = await backupModule.start!({ name: 'backup', config, settings: {}, dataDir: join(tmp, 'backups'), log: pino({ level: 'silent' }), link: testLink(), emit: () => {} });
});

describe('backup module (node-kept backups)', () => {
  it('backs up, verifies and restores a tree byte-identical with modes and symlinks', async () => {
    const res = await bk('run', { source: join(root, 'site'), destination: 'node' });
    expect(res.destination).toBe('node');
    expect(res.archiveSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(res.manifestSha256).toBeNull();
    expect(res.fileCount).toBe(9);
    const paths = res.manifest.entries.map((e: { path: string }) => e.path);
    expect(paths).toContain('a/b/data.bin');
    const script = res.manifest.entries.find((e: { path: string }) => e.path === 'a/script.sh');
    expect(script).toMatchObject({ type: 'file', mode: '0750', size: 18 });
    expect(script.sha256).toMatch(/^[0-9a-f]{64}$/);

    expect(await bk('verify', { backupId: res.backupId })).toMatchObject({ ok: true, fileCount: 9, where: 'node' });
    const listed = await bk('list', {});
    expect(listed.backups.map((b: { backupId: string }) => b.backupId)).toEqual([res.backupId]);

    const target = join(root, 'restored');
    const restored = await bk('restore', { backupId: res.backupId, target, archiveSha256: res.archiveSha256 });
    expect(restored).toMatchObject({ fileCount: 9, from: 'node' });
    expect(await tree(target)).toEqual(await tree(join(root, 'site')));
    // Nothing left beside the target.
    expect((await readdir(root)).sort()).toEqual(['restored', 'site']);
  });

  it('leaves out what exclude patterns match', async () => {
    const res = await bk('run', { source: join(root, 'site'), destination: 'node', exclude: ['node_modules', '*.log', 'cache/tmp'] });
    const paths = res.manifest.entries.map((e: { path: string }) => e.path);
    expect(paths).not.toContain('node_modules');
    expect(paths.some((p: string) => p.startsWith('node_modules/'))).toBe(false);
    expect(paths).not.toContain('debug.log');
    expect(paths).not.toContain('cache/tmp/c');
    expect(paths).toContain('cache/keep');
    const target = join(root, 'out');
    await bk('restore', { backupId: res.backupId, target });
    expect(await readFile(join(target, 'cache/keep'), 'utf8')).toBe('kept');
    await expect(stat(join(target, 'node_modules'))).rejects.toThrow();
  });

  it('restores setuid/setgid bits only when asked, and gives the tree to the owner of where it lands (as root)', async () => {
    const src = join(root, 'suid-src');
    await mkdir(join(src, 'bin'), { recursive: true });
    await writeFile(join(src, 'bin/tool'), '#!/bin/sh\n');
    const asRoot = process.getuid?.() === 0;
    // chown clears setuid: owner first, then the mode (the case: uid 65534, mode 4755).
    if (asRoot) await lchown(join(src, 'bin/tool'), 65534, 65534);
    await chmod(join(src, 'bin/tool'), 0o4755);
    await chmod(join(src, 'bin'), 0o2755);
    const res = await bk('run', { source: src, destination: 'node' });
    expect(res.manifest.entries.find((e: { path: string }) => e.path === 'bin/tool')).toMatchObject({ mode: '4755' });
    expect(res.manifest.entries.find((e: { path: string }) => e.path === 'bin')).toMatchObject({ mode: '2755' });
    const home = join(root, 'suid-home');
    await mkdir(home);
    if (asRoot) await lchown(home, 1234, 1235);

    await bk('restore', { backupId: res.backupId, target: join(home, 'plain') });
    const plain = await stat(join(home, 'plain/bin/tool'));
    expect(plain.mode & 0o7777).toBe(0o755);
    expect((await stat(join(home, 'plain/bin'))).mode & 0o7777).toBe(0o755);
    if (asRoot) {
      // Not root's (what the agent extracted as), not the backup's 65534: the target's owner.
      expect([plain.uid, plain.gid]).toEqual([1234, 1235]);
      expect((await lstat(join(home, 'plain'))).uid).toBe(1234);
    }

    await bk('restore', { backupId: res.backupId, target: join(home, 'kept'), keepSpecialBits: true });
    const kept = await stat(join(home, 'kept/bin/tool'));
    expect(kept.mode & 0o7777).toBe(0o4755);
    if (asRoot) expect(kept.uid).toBe(1234);
  });

  it('refuses a source or target outside the roots, and a target that is not empty', async () => {
    const outside = join(tmp, 'outside');
    await mkdir(outside);
    expect((await bkFail('run', { source: outside, destination: 'node' })).code).toBe('path_outside_roots');
    expect((await bkFail('run', { source: `${root}/../outside`, destination: 'node' })).code).toBe('path_outside_roots');
    await symlink(outside, join(root, 'escape'));
    expect((await bkFail('run', { source: join(root, 'escape'), destination: 'node' })).code).toBe('path_outside_roots');
    const res = await bk('run', { source: join(root, 'site'), destination: 'node' });
    expect((await bkFail('restore', { backupId: res.backupId, target: join(outside, 'r') })).code).toBe('path_outside_roots');
    expect((await bkFail('restore', { backupId: res.backupId, target: join(root, 'site') })).code).toBe('target_not_empty');
    expect((await bkFail('restore', { backupId: 'backup_nope', target: join(root, 'r') })).code).toBe('backup_not_found');
    expect((await bkFail('run', { source: join(root, 'site/index.html'), destination: 'node' })).code).toBe('not_a_directory');
  });

  it('refuses a tampered archive on verify and restore, leaving the target untouched', async () => {
    const res = await bk('run', { source: join(root, 'site'), destination: 'node' });
    const archive = join(tmp, 'backups', res.backupId, 'archive.tar.gz');
    const bytes = await readFile(archive);
    const mid = Math.floor(bytes.length / 2);
    bytes[mid] = bytes[mid]! ^ 0xff;
    await writeFile(archive, bytes);
    const v = await bkFail('verify', { backupId: res.backupId });
    expect(v.code).toBe('archive_checksum_mismatch');
    const target = join(root, 'target');
    await mkdir(target);
    const r = await bkFail('restore', { backupId: res.backupId, target });
    expect(r.code).toBe('archive_checksum_mismatch');
    expect(await readdir(target)).toEqual([]);
    expect((await readdir(root)).sort()).toEqual(['site', 'target']);
  });

  it('refuses an archive whose contents disagree with a manifest that was rewritten to match it', async () => {
    // Tamper with a manifest entry (and keep the archive sha right): verify compares every file.
    const res = await bk('run', { source: join(root, 'site'), destination: 'node' });
    const manifestPath = join(tmp, 'backups', res.backupId, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    const entry = manifest.entries.find((e: { path: string }) => e.path === 'index.html');
    entry.sha256 = '0'.repeat(64);
    await writeFile(manifestPath, JSON.stringify(manifest));
    const v = await bkFail('verify', { backupId: res.backupId });
    expect(v.code).toBe('file_checksum_mismatch');
    expect(v.message).toContain('index.html');
    const target = join(root, 'target2');
    const r = await bkFail('restore', { backupId: res.backupId, target });
    expect(r.code).toBe('file_checksum_mismatch');
    await expect(stat(target)).rejects.toThrow();
    expect((await readdir(root)).sort()).toEqual(['site']);
  });

  it('deletes node-kept backups idempotently', async () => {
    const res = await bk('run', { source: join(root, 'site'), destination: 'node' });
    expect(await bk('delete', { backupId: res.backupId })).toEqual({ backupId: res.backupId, deleted: true, changed: true });
    expect(await bk('delete', { backupId: res.backupId })).toEqual({ backupId: res.backupId, deleted: false, changed: false });
    expect((await bk('list', {})).backups).toEqual([]);
    expect(() => registry.validatePayload('backup.delete', { backupId: '../x' })).toThrow(/backupId/);
  });

  it('control-plane destination without a node credential fails clearly', async () => {
    expect((await bkFail('run', { source: join(root, 'site'), destination: 'control-plane' })).code).toBe('not_enrolled');
  });
});

describe('exclude patterns', () => {
  it('match names anywhere, paths from the root, and ** across directories', () => {
    const m = new ExcludeMatcher(['*.log', 'node_modules', 'cache/tmp', 'logs/**/*.gz', '/top']);
    expect(m.excludes('a/b/x.log')).toBe(true);
    expect(m.excludes('node_modules/a/b')).toBe(true);
    expect(m.excludes('src/node_modules')).toBe(true);
    expect(m.excludes('cache/tmp')).toBe(true);
    expect(m.excludes('cache/tmp/deep/file')).toBe(true);
    expect(m.excludes('x/cache/tmp')).toBe(false);
    expect(m.excludes('logs/a.gz')).toBe(true);
    expect(m.excludes('logs/2024/01/a.gz')).toBe(true);
    expect(m.excludes('logs/a.txt')).toBe(false);
    expect(m.excludes('top/x')).toBe(true);
    expect(m.excludes('a/top')).toBe(false);
    expect(m.excludes('a.logx')).toBe(false);
  });
});
