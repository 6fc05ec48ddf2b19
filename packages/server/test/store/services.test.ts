import { describe, expect, it } from 'vitest';
import { insertNode } from '../../src/store/queries/nodes.js';
import {
  deleteOrphanServiceNodes,
  deleteServiceNode,
  deleteServiceNodesExcept,
  getServiceRow,
  listServiceNodeRows,
  listServiceRows,
  markServiceDeleted,
  purgeDeletedServices,
  putServiceSpec,
  upsertServiceNode,
} from '../../src/store/queries/services.js';
import type { ServiceNodesTable } from '../../src/store/schema.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { nodeRow, T0 } from '../helpers/rows.js';

function statusRow(over: Partial<ServiceNodesTable> = {}): ServiceNodesTable {
  return { service: 'web', node_id: 'node_a', revision: 1, version: '1.0.0', state: 'running', report: '{"name":"web"}', updated_at: T0, ...over };
}

describe.each(storeTargets())('services on $name', (target) => {
  const ctx = useFreshStore(target);

  it('putServiceSpec: creates at revision 1, same spec changes nothing, a new spec bumps the revision', async () => {
    const db = ctx.store.db;
    const a = await putServiceSpec(db, 'web', '{"v":1}', T0);
    expect(a).toEqual({ changed: true, row: { name: 'web', revision: 1, spec: '{"v":1}', created_at: T0, updated_at: T0, deleted_at: null } });
    const same = await putServiceSpec(db, 'web', '{"v":1}', T0 + 1);
    expect(same.changed).toBe(false);
    expect(same.row.revision).toBe(1);
    const b = await putServiceSpec(db, 'web', '{"v":2}', T0 + 2);
    expect(b).toMatchObject({ changed: true, row: { revision: 2, spec: '{"v":2}', created_at: T0, updated_at: T0 + 2 } });
    expect(await getServiceRow(db, 'web')).toEqual(b.row);
  });

  it('a deleted service is a tombstone until no node reports it; created again, its revision keeps counting', async () => {
    const db = ctx.store.db;
    await putServiceSpec(db, 'web', '{"v":1}', T0);
    await putServiceSpec(db, 'db', '{"v":1}', T0);
    await upsertServiceNode(db, statusRow());
    expect(await markServiceDeleted(db, 'web', T0 + 5)).toMatchObject({ name: 'web', deleted_at: T0 + 5 });
    expect(await markServiceDeleted(db, 'web', T0 + 6)).toBeUndefined();
    expect((await listServiceRows(db)).map((r) => r.name)).toEqual(['db']);
    expect((await listServiceRows(db, { deleted: true })).map((r) => r.name)).toEqual(['web']);
    // A node still reports it: the tombstone stays.
    expect(await purgeDeletedServices(db)).toEqual([]);
    // Re-created before the purge: revision 2, not 1, so no agent mistakes it for what it had.
    const again = await putServiceSpec(db, 'web', '{"v":1}', T0 + 7);
    expect(again).toMatchObject({ changed: true, row: { revision: 2, deleted_at: null, created_at: T0 + 7 } });
    await markServiceDeleted(db, 'web', T0 + 8);
    await deleteServiceNode(db, 'web', 'node_a');
    expect(await purgeDeletedServices(db)).toEqual(['web']);
    expect(await getServiceRow(db, 'web')).toBeUndefined();
    expect((await listServiceRows(db)).map((r) => r.name)).toEqual(['db']);
  });

  it('upsertServiceNode inserts then updates one row per (service, node); deletes by node keep the named ones', async () => {
    const db = ctx.store.db;
    await upsertServiceNode(db, statusRow());
    await upsertServiceNode(db, statusRow({ state: 'backoff', revision: 2, version: '2.0.0', report: '{"x":2}', updated_at: T0 + 1 }));
    await upsertServiceNode(db, statusRow({ service: 'db', node_id: 'node_a' }));
    await upsertServiceNode(db, statusRow({ node_id: 'node_b' }));
    expect(await listServiceNodeRows(db, { service: 'web', nodeId: 'node_a' })).toEqual([
      statusRow({ state: 'backoff', revision: 2, version: '2.0.0', report: '{"x":2}', updated_at: T0 + 1 }),
    ]);
    expect((await listServiceNodeRows(db, { nodeId: 'node_a' })).map((r) => r.service)).toEqual(['db', 'web']);
    expect((await listServiceNodeRows(db, { service: 'web' })).map((r) => r.node_id)).toEqual(['node_a', 'node_b']);
    expect(await deleteServiceNodesExcept(db, 'node_a', ['web'])).toEqual(['db']);
    expect(await deleteServiceNodesExcept(db, 'node_b', [])).toEqual(['web']);
    expect((await listServiceNodeRows(db)).map((r) => `${r.service}@${r.node_id}`)).toEqual(['web@node_a']);
    expect(await deleteServiceNode(db, 'web', 'node_a')).toBe(true);
    expect(await deleteServiceNode(db, 'web', 'node_a')).toBe(false);
  });

  it('deleteOrphanServiceNodes drops rows of nodes that no longer exist', async () => {
    const db = ctx.store.db;
    const node = nodeRow();
    await insertNode(db, node);
    await upsertServiceNode(db, statusRow({ node_id: node.id }));
    await upsertServiceNode(db, statusRow({ node_id: 'node_gone' }));
    expect(await deleteOrphanServiceNodes(db)).toBe(1);
    expect((await listServiceNodeRows(db)).map((r) => r.node_id)).toEqual([node.id]);
  });

  it('two concurrent PUTs of different specs end at distinct revisions (one may lose with an error, none silently)', async () => {
    const db = ctx.store.db;
    await putServiceSpec(db, 'web', '{"v":0}', T0);
    const results = await Promise.allSettled([1, 2].map((v) => ctx.store.tx((tx) => putServiceSpec(tx, 'web', `{"v":${v}}`, T0 + v))));
    const ok = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ row: { revision: number } }>).value.row.revision);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(new Set(ok).size).toBe(ok.length);
    expect((await getServiceRow(db, 'web'))!.revision).toBe(1 + ok.length);
  });
});
