import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { beforeAll, describe, expect, it } from 'vitest';
import { backupControlPlane, restoreControlPlane, Store } from '../../src/index.js';
import { restoredMarker } from '../../src/cp-backup/index.js';

const temp = (p: string) => mkdtempSync(join(tmpdir(), p));

/** A data dir as a stopped control plane leaves it: a migrated store, keys, an artifact, leftovers. */
async function dataDir(): Promise<string> {
  const dir = temp('steward-cpb-data-');
  const store = await Store.open(join(dir, 'steward.db'));
  await store.close();
  writeFileSync(join(dir, 'command-signing.key'), 'signing key', { mode: 0o600 });
  writeFileSync(join(dir, 'admin.token'), 'token', { mode: 0o600 });
  mkdirSync(join(dir, 'tls'));
  writeFileSync(join(dir, 'tls', 'ca.key'), 'ca key', { mode: 0o600 });
  mkdirSync(join(dir, 'artifacts', 'ab'), { recursive: true });
  writeFileSync(join(dir, 'artifacts', 'ab', 'abcdef'), 'blob');
  mkdirSync(join(dir, 'artifacts', 'tmp'));
  writeFileSync(join(dir, 'artifacts', 'tmp', 'upload_1'), 'half an upload');
  writeFileSync(join(dir, 'endpoint.json'), JSON.stringify({ url: 'http://127.0.0.1:1', pid: 999_999_999 }));
  return dir;
}

/** Unpacks a backup, lets `change` edit it, packs it again. */
async function repacked(file: string, change: (dir: string) => void): Promise<string> {
  const dir = temp('steward-cpb-edit-');
  await tar.x({ file, cwd: dir });
  change(dir);
  const out = join(temp('steward-cpb-out-'), 'edited.tar.gz');
  await tar.c({ gzip: true, file: out, cwd: dir }, readdirSync(dir));
  return out;
}

describe('control-plane backup archive', () => {
  let source: string;
  let file: string;
  beforeAll(async () => {
    source = await dataDir();
    file = join(temp('steward-cpb-'), 'cp.tar.gz');
    await backupControlPlane({ file, dataDir: source });
  });

  it('carries the store snapshot, keys and artifacts, not the endpoint or unfinished uploads, and round-trips', async () => {
    const target = join(temp('steward-cpb-r-'), 'data');
    const m = await restoreControlPlane({ file, dataDir: target });
    expect(m.store).toMatchObject({ kind: 'sqlite', member: 'steward.db', migration: expect.stringMatching(/^\d{4}_/) });
    expect(m.members.map((x) => x.path).sort()).toEqual(['admin.token', 'artifacts/ab/abcdef', 'command-signing.key', 'steward.db', 'tls/ca.key']);
    expect(readFileSync(join(target, 'tls', 'ca.key'), 'utf8')).toBe('ca key');
    expect(statSync(join(target, 'command-signing.key')).mode & 0o777).toBe(0o600);
    expect(statSync(target).mode & 0o777).toBe(0o700);
    expect(existsSync(join(target, 'endpoint.json'))).toBe(false);
    expect(JSON.parse(readFileSync(join(target, 'restored-from.json'), 'utf8'))).toMatchObject({ format: 'steward-control-plane-backup', createdAt: m.createdAt, restoredAt: expect.any(Number) });
    expect(restoredMarker(target)).toEqual({ backupAt: m.createdAt, restoredAt: expect.any(Number) });
    expect(restoredMarker(source)).toBeNull();
    const store = await Store.open(join(target, 'steward.db')); // opens (and migrates nothing more)
    await store.close();
  });

  it('leaves artifacts out with artifacts: false', async () => {
    const out = join(temp('steward-cpb-'), 'small.tar.gz');
    const m = await backupControlPlane({ file: out, dataDir: source, artifacts: false });
    expect(m.artifacts).toBe(false);
    expect(m.members.some((x) => x.path.startsWith('artifacts/'))).toBe(false);
  });

  it('refuses a backup file inside the data dir', async () => {
    await expect(backupControlPlane({ file: join(source, 'self.tar.gz'), dataDir: source })).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('refuses a member the manifest does not list, and writes nothing', async () => {
    const bad = await repacked(file, (d) => writeFileSync(join(d, 'smuggled.key'), 'x'));
    const target = join(temp('steward-cpb-r-'), 'data');
    await expect(restoreControlPlane({ file: bad, dataDir: target })).rejects.toMatchObject({ code: 'backup_invalid', details: { files: ['smuggled.key'] } });
    expect(existsSync(target)).toBe(false);
  });

  it('refuses a manifest whose member leaves the data dir', async () => {
    const bad = await repacked(file, (d) => {
      const m = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8'));
      m.members[0].path = '../outside';
      writeFileSync(join(d, 'manifest.json'), JSON.stringify(m));
    });
    await expect(restoreControlPlane({ file: bad, dataDir: join(temp('steward-cpb-r-'), 'data') })).rejects.toMatchObject({ code: 'backup_invalid', message: expect.stringContaining('leaves the data dir') });
  });

  it('refuses a missing member, another format, and a SQLite backup for a PostgreSQL restore', async () => {
    const missing = await repacked(file, (d) => writeFileSync(join(d, 'manifest.json'), readFileSync(join(d, 'manifest.json'), 'utf8').replace('"admin.token"', '"admin.token2"')));
    await expect(restoreControlPlane({ file: missing, dataDir: join(temp('steward-cpb-r-'), 'd') })).rejects.toMatchObject({ code: 'backup_invalid' });
    const other = await repacked(file, (d) => writeFileSync(join(d, 'manifest.json'), '{"format":"something-else"}'));
    await expect(restoreControlPlane({ file: other, dataDir: join(temp('steward-cpb-r-'), 'd') })).rejects.toMatchObject({ code: 'backup_invalid', message: expect.stringContaining('not a Steward control-plane backup') });
    await expect(restoreControlPlane({ file, dataDir: join(temp('steward-cpb-r-'), 'd'), db: 'postgres://nobody@127.0.0.1:1/none' })).rejects.toMatchObject({ code: 'store_kind_mismatch' });
  });

  it('refuses while a live process owns the data dir, and into a non-empty dir without force', async () => {
    const target = temp('steward-cpb-live-');
    writeFileSync(join(target, 'endpoint.json'), JSON.stringify({ url: 'http://127.0.0.1:1', pid: process.ppid }));
    await expect(restoreControlPlane({ file, dataDir: target, force: true })).rejects.toMatchObject({ code: 'control_plane_running', details: { pid: process.ppid } });
    await expect(restoreControlPlane({ file, dataDir: target })).rejects.toMatchObject({ code: 'control_plane_running' });
    writeFileSync(join(target, 'endpoint.json'), JSON.stringify({ url: 'http://127.0.0.1:1', pid: 999_999_999 }));
    await expect(restoreControlPlane({ file, dataDir: target })).rejects.toMatchObject({ code: 'data_dir_not_empty' });
    await restoreControlPlane({ file, dataDir: target, force: true });
    expect(existsSync(join(target, 'endpoint.json'))).toBe(false);
    expect(readFileSync(join(target, 'admin.token'), 'utf8')).toBe('token');
  });
});
