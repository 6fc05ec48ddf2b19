import { describe, expect, it } from 'vitest';
import { deleteArtifactRow, getArtifactRow, insertArtifactOnce, listArtifactRows } from '../../src/store/queries/artifacts.js';
import type { ArtifactsTable } from '../../src/store/schema.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';

const sha = (c: string) => c.repeat(64);
const row = (over: Partial<ArtifactsTable> = {}): ArtifactsTable => ({
  sha256: sha('a'),
  size: 5_000_000_000,
  name: 'a.tar.gz',
  created_at: 1_700_000_000_000,
  created_by: 'token:t1',
  ...over,
});

describe.each(storeTargets())('artifacts on $name', (target) => {
  const ctx = useFreshStore(target);

  it('stores metadata once per sha: a second insert keeps the first row', async () => {
    const { db } = ctx.store;
    const first = await insertArtifactOnce(db, row());
    expect(first).toEqual({ row: row(), created: true });
    const again = await insertArtifactOnce(db, row({ name: 'other', created_by: 'node:n1', created_at: 1_700_000_000_001 }));
    expect(again).toEqual({ row: row(), created: false });
    expect(await getArtifactRow(db, sha('a'))).toEqual(row());
  });

  it('creates exactly one row when the same sha is stored 5 times at once', async () => {
    const { db } = ctx.store;
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => insertArtifactOnce(db, row({ name: `n${i}` }))));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await listArtifactRows(db)).toHaveLength(1);
  });

  it('lists newest first, filters by name, limits, and deletes', async () => {
    const { db } = ctx.store;
    await insertArtifactOnce(db, row({ sha256: sha('1'), name: 'x', created_at: 1 }));
    await insertArtifactOnce(db, row({ sha256: sha('2'), name: 'y', created_at: 2 }));
    await insertArtifactOnce(db, row({ sha256: sha('3'), name: 'x', created_at: 3, created_by: null }));
    expect((await listArtifactRows(db)).map((r) => r.sha256)).toEqual([sha('3'), sha('2'), sha('1')]);
    expect((await listArtifactRows(db, { name: 'x' })).map((r) => r.sha256)).toEqual([sha('3'), sha('1')]);
    expect(await listArtifactRows(db, { limit: 1 })).toHaveLength(1);
    expect(await deleteArtifactRow(db, sha('2'))).toBe(true);
    expect(await deleteArtifactRow(db, sha('2'))).toBe(false);
    expect(await getArtifactRow(db, sha('2'))).toBeUndefined();
    // Sizes past 2^32 survive the round trip on both databases.
    expect((await getArtifactRow(db, sha('1')))!.size).toBe(5_000_000_000);
  });
});
