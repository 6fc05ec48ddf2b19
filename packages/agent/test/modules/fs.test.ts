import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AgentConfig } from '../../src/config.js';
import { loadModules, type ModuleRegistry } from '../../src/modules/registry.js';
import type { CommandContext } from '../../src/modules/types.js';
import { failure, run, tempDir, testConfig, testContext } from './context.js';

let registry: ModuleRegistry;
beforeAll(async () => {
  registry = await loadModules(['fs']);
});

let root: string;
let outside: string;
let ctx: CommandContext;
const fsRun = (type: string, payload: unknown) => run(registry, type, payload, ctx);
const fsFail = (type: string, payload: unknown) => failure(fsRun(type, payload));
const modeOf = async (p: string) => ((await stat(p)).mode & 0o7777).toString(8);
const exists = (p: string) => lstat(p).then(() => true, () => false);

beforeEach(async () => {
  const tmp = await tempDir();
  root = join(tmp, 'root');
  outside = join(tmp, 'outside');
  await mkdir(root);
  await mkdir(outside);
  await writeFile(join(outside, 'secret'), 'do not read');
  ctx = testContext(testConfig(tmp, (c: AgentConfig) => (c.fs.roots = [root])));
});

describe('fs confinement', () => {
  it('refuses `..` that climbs out of the root, naming the roots', async () => {
    const f = await fsFail('fs.read', { path: `${root}/../outside/secret` });
    expect(f.code).toBe('path_outside_roots');
    expect(f.message).toContain(root);
  });

  it('refuses absolute paths outside, including a sibling that shares the root as a prefix', async () => {
    expect((await fsFail('fs.read', { path: join(outside, 'secret') })).code).toBe('path_outside_roots');
    await mkdir(`${root}-evil`);
    expect((await fsFail('fs.mkdir', { path: `${root}-evil/x` })).code).toBe('path_outside_roots');
    expect(await exists(`${root}-evil/x`)).toBe(false);
  });

  it('refuses symlinks that lead out of the root, for reads and writes', async () => {
    await symlink(outside, join(root, 'dirlink'));
    await symlink(join(outside, 'secret'), join(root, 'filelink'));
    await symlink(join(outside, 'not-yet'), join(root, 'dangling'));
    expect((await fsFail('fs.read', { path: join(root, 'dirlink', 'secret') })).code).toBe('path_outside_roots');
    expect((await fsFail('fs.read', { path: join(root, 'filelink') })).code).toBe('path_outside_roots');
    expect((await fsFail('fs.write', { path: join(root, 'dirlink', 'new'), content: 'x' })).code).toBe('path_outside_roots');
    expect((await fsFail('fs.write', { path: join(root, 'dangling'), content: 'x' })).code).toBe('path_outside_roots');
    expect((await fsFail('fs.chmod', { path: join(root, 'filelink'), mode: '0777' })).code).toBe('path_outside_roots');
    expect(await readdir(outside)).toEqual(['secret']);
    expect(await modeOf(join(outside, 'secret'))).not.toBe('777');
  });

  it('follows symlinks that stay inside the root', async () => {
    await mkdir(join(root, 'real'));
    await writeFile(join(root, 'real', 'f'), 'inside');
    await symlink('real', join(root, 'alias'));
    expect((await fsRun('fs.read', { path: join(root, 'alias', 'f') })).content).toBe('inside');
  });

  it('refuses relative paths, in validation and in the handler', async () => {
    expect(() => registry.validatePayload('fs.read', { path: 'etc/passwd' })).toThrow(/path/);
    const def = registry.get('fs.read')!;
    const f = await failure(def.handler({ path: 'etc/passwd' }, ctx));
    expect(f.code).toBe('path_not_absolute');
  });

  it('refuses everything when no roots are configured', async () => {
    ctx.config.fs.roots = [];
    expect((await fsFail('fs.stat', { path: root })).code).toBe('path_outside_roots');
  });
});

describe('fs.mkdir', () => {
  it('creates parents like mkdir -p and is idempotent', async () => {
    const path = join(root, 'a', 'b', 'c');
    expect(await fsRun('fs.mkdir', { path })).toEqual({ path, changed: true });
    expect((await stat(path)).isDirectory()).toBe(true);
    expect(await fsRun('fs.mkdir', { path })).toEqual({ path, changed: false });
  });

  it('sets an exact mode regardless of umask, and only changes it when it differs', async () => {
    const path = join(root, 'private');
    expect((await fsRun('fs.mkdir', { path, mode: '0770' })).changed).toBe(true);
    expect(await modeOf(path)).toBe('770');
    expect((await fsRun('fs.mkdir', { path, mode: '0770' })).changed).toBe(false);
    expect((await fsRun('fs.mkdir', { path, mode: '0700' })).changed).toBe(true);
    expect(await modeOf(path)).toBe('700');
  });

  it('fails when a file is in the way', async () => {
    await writeFile(join(root, 'file'), '');
    expect((await fsFail('fs.mkdir', { path: join(root, 'file') })).code).toBe('not_a_directory');
    expect((await fsFail('fs.mkdir', { path: join(root, 'file', 'sub') })).code).toBe('not_a_directory');
  });
});

describe('fs.write', () => {
  it('writes content and mode, returns sha256 and bytes, and leaves no temp files', async () => {
    const path = join(root, 'conf.txt');
    const content = 'héllo\n';
    const result = await fsRun('fs.write', { path, content, mode: '0600' });
    const sha256 = createHash('sha256').update(content).digest('hex');
    expect(result).toEqual({ path, changed: true, bytes: Buffer.byteLength(content), sha256 });
    expect(await readFile(path, 'utf8')).toBe(content);
    expect(await modeOf(path)).toBe('600');
    expect(await readdir(root)).toEqual(['conf.txt']);
    expect((await fsRun('fs.write', { path, content, mode: '0600' })).changed).toBe(false);
  });

  it('replaces the file by rename, so a reader of the old file never sees a mix', async () => {
    const path = join(root, 'data');
    await writeFile(path, 'old content');
    const reader = await open(path, 'r');
    try {
      await fsRun('fs.write', { path, content: 'new' });
      expect(await readFile(path, 'utf8')).toBe('new');
      expect((await reader.readFile()).toString()).toBe('old content');
    } finally {
      await reader.close();
    }
    expect(await readdir(root)).toEqual(['data']);
  });

  it('keeps the mode of an existing file unless told otherwise', async () => {
    const path = join(root, 'script');
    await writeFile(path, '#!/bin/sh\n', { mode: 0o750 });
    await fsRun('fs.write', { path, content: '#!/bin/sh\necho hi\n' });
    expect(await modeOf(path)).toBe('750');
  });

  it('writes through an in-root symlink, keeping the link', async () => {
    await writeFile(join(root, 'v1.conf'), 'v1');
    await symlink('v1.conf', join(root, 'current'));
    await fsRun('fs.write', { path: join(root, 'current'), content: 'v2' });
    expect(await readlink(join(root, 'current'))).toBe('v1.conf');
    expect(await readFile(join(root, 'v1.conf'), 'utf8')).toBe('v2');
  });

  it('decodes base64 and refuses content that is not base64', async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 254]);
    const path = join(root, 'bin');
    const result = await fsRun('fs.write', { path, content: bytes.toString('base64'), encoding: 'base64' });
    expect(result.bytes).toBe(5);
    expect((await readFile(path)).equals(bytes)).toBe(true);
    expect((await fsFail('fs.write', { path, content: 'not base64!', encoding: 'base64' })).code).toBe('invalid_content');
  });

  it('needs the parent directory to exist and refuses to replace a directory', async () => {
    const f = await fsFail('fs.write', { path: join(root, 'missing', 'file'), content: 'x' });
    expect(f.code).toBe('not_found');
    expect(f.message).toContain('parent directory');
    await mkdir(join(root, 'dir'));
    expect((await fsFail('fs.write', { path: join(root, 'dir'), content: 'x' })).code).toBe('is_a_directory');
    expect(await readdir(root)).toEqual(['dir']);
  });
});

describe('fs.read', () => {
  it('reads up to fs.maxReadBytes and refuses larger files with too_large', async () => {
    ctx.config.fs.maxReadBytes = 16;
    await writeFile(join(root, 'ok'), 'x'.repeat(16));
    await writeFile(join(root, 'big'), 'x'.repeat(17));
    const ok = await fsRun('fs.read', { path: join(root, 'ok') });
    expect(ok).toMatchObject({ content: 'x'.repeat(16), encoding: 'utf8', bytes: 16 });
    const f = await fsFail('fs.read', { path: join(root, 'big') });
    expect(f.code).toBe('too_large');
    expect(f.message).toContain('17 bytes');
    expect(f.message).toContain('16');
  });

  it('reads as base64 with a sha256', async () => {
    const bytes = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
    await writeFile(join(root, 'b'), bytes);
    const r = await fsRun('fs.read', { path: join(root, 'b'), encoding: 'base64' });
    expect(r.content).toBe(bytes.toString('base64'));
    expect(r.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('fails with stable codes for missing files, directories and FIFOs', async () => {
    expect((await fsFail('fs.read', { path: join(root, 'none') })).code).toBe('not_found');
    expect((await fsFail('fs.read', { path: root })).code).toBe('is_a_directory');
    if (spawnSync('mkfifo', [join(root, 'fifo')]).status === 0) {
      // Opening a FIFO for reading would block without a writer; it must be refused instead.
      expect((await fsFail('fs.read', { path: join(root, 'fifo') })).code).toBe('not_a_file');
    }
  });
});

describe('fs.remove', () => {
  it('removes a file, and a missing path is changed false', async () => {
    const path = join(root, 'f');
    await writeFile(path, '');
    expect(await fsRun('fs.remove', { path })).toEqual({ path, changed: true });
    expect(await exists(path)).toBe(false);
    expect(await fsRun('fs.remove', { path })).toEqual({ path, changed: false });
  });

  it('needs recursive for a non-empty directory', async () => {
    const dir = join(root, 'd');
    await mkdir(join(dir, 'sub'), { recursive: true });
    await writeFile(join(dir, 'sub', 'f'), '');
    expect((await fsFail('fs.remove', { path: dir })).code).toBe('not_empty');
    expect(await exists(join(dir, 'sub', 'f'))).toBe(true);
    expect((await fsRun('fs.remove', { path: dir, recursive: true })).changed).toBe(true);
    expect(await exists(dir)).toBe(false);
  });

  it('removes an empty directory without recursive', async () => {
    await mkdir(join(root, 'empty'));
    expect((await fsRun('fs.remove', { path: join(root, 'empty') })).changed).toBe(true);
  });

  it('removes a symlink itself, not what it points to', async () => {
    await mkdir(join(root, 'target'));
    await writeFile(join(root, 'target', 'keep'), '');
    await symlink('target', join(root, 'link'));
    await fsRun('fs.remove', { path: join(root, 'link'), recursive: true });
    expect(await exists(join(root, 'link'))).toBe(false);
    expect(await exists(join(root, 'target', 'keep'))).toBe(true);
  });

  it('refuses to remove a root', async () => {
    await writeFile(join(root, 'f'), '');
    expect((await fsFail('fs.remove', { path: root, recursive: true })).code).toBe('refused_root');
    expect((await fsFail('fs.remove', { path: `${root}/.`, recursive: true })).code).toBe('refused_root');
    expect(await exists(join(root, 'f'))).toBe(true);
  });
});

describe('fs.chmod, fs.chown, fs.stat, fs.list', () => {
  it('chmod sets the mode from an octal string and reports whether it changed', async () => {
    const path = join(root, 'f');
    await writeFile(path, '', { mode: 0o600 });
    expect(await fsRun('fs.chmod', { path, mode: '0644' })).toEqual({ path, changed: true, mode: '0644' });
    expect(await modeOf(path)).toBe('644');
    expect((await fsRun('fs.chmod', { path, mode: '644' })).changed).toBe(false);
    expect(() => registry.validatePayload('fs.chmod', { path, mode: 'rwxr-xr-x' })).toThrow(/mode/);
    expect((await fsFail('fs.chmod', { path: join(root, 'none'), mode: '0644' })).code).toBe('not_found');
  });

  it('chown changes owner and group when permitted, and is a no-op when they match', async () => {
    const path = join(root, 'f');
    await writeFile(path, '');
    const st = await stat(path);
    expect((await fsRun('fs.chown', { path, uid: st.uid, gid: st.gid })).changed).toBe(false);
    if (process.getuid?.() === 0) {
      expect(await fsRun('fs.chown', { path, uid: 4321, gid: 4322 })).toEqual({ path, changed: true, uid: 4321, gid: 4322 });
      expect(await stat(path)).toMatchObject({ uid: 4321, gid: 4322 });
      expect((await fsRun('fs.chown', { path, gid: 5000 })).uid).toBe(4321);
    } else {
      expect((await fsFail('fs.chown', { path, uid: 0 })).code).toBe('permission_denied');
    }
  });

  it('stat describes a file and where a symlink leads', async () => {
    await writeFile(join(root, 'f'), 'abc', { mode: 0o640 });
    await symlink('f', join(root, 'l'));
    const s = await fsRun('fs.stat', { path: join(root, 'l') });
    expect(s).toMatchObject({ type: 'file', size: 3, mode: '0640', realPath: join(realpathSync(root), 'f') });
    expect(typeof s.mtime).toBe('number');
    expect((await fsFail('fs.stat', { path: join(root, 'none') })).code).toBe('not_found');
  });

  it('list returns sorted entries with type, size, mode and mtime, without following links', async () => {
    await writeFile(join(root, 'b.txt'), '12345', { mode: 0o640 });
    await mkdir(join(root, 'a-dir'));
    await symlink(outside, join(root, 'c-link'));
    const r = await fsRun('fs.list', { path: root });
    expect(r.truncated).toBe(false);
    expect(r.entries.map((e: { name: string; type: string }) => [e.name, e.type])).toEqual([
      ['a-dir', 'directory'],
      ['b.txt', 'file'],
      ['c-link', 'symlink'],
    ]);
    expect(r.entries[1]).toMatchObject({ size: 5, mode: '0640' });
    expect((await fsRun('fs.list', { path: root, limit: 2 })).truncated).toBe(true);
    expect((await fsFail('fs.list', { path: join(root, 'b.txt') })).code).toBe('not_a_directory');
  });

  it('marks every fs command safe to re-run', () => {
    for (const t of registry.types()) expect(t.safeToRerun, t.type).toBe(true);
  });
});
