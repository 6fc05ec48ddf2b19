import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';

const mode = (f: string) => statSync(f).mode & 0o777;

describe('the SQLite store file', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('is created owner-only, and its WAL files follow', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steward-db-mode-'));
    dirs.push(dir);
    const file = join(dir, 'data', 'steward.db');
    const store = await Store.open(file);
    try {
      expect(mode(file)).toBe(0o600);
      for (const f of [`${file}-wal`, `${file}-shm`]) if (existsSync(f)) expect(mode(f), f).toBe(0o600);
      expect(existsSync(`${file}-wal`)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('tightens a database an older version left world-readable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steward-db-mode-'));
    dirs.push(dir);
    const file = join(dir, 'steward.db');
    writeFileSync(file, '');
    chmodSync(file, 0o644);
    const store = await Store.open(file);
    await store.close();
    expect(mode(file)).toBe(0o600);
  });
});
