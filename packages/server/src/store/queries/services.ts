import type { Kysely } from 'kysely';
import { ConflictError } from '@steward/protocol';
import type { Database, ServiceNodesTable, ServicesTable } from '../schema.js';

export async function getServiceRow(db: Kysely<Database>, name: string): Promise<ServicesTable | undefined> {
  return db.selectFrom('services').selectAll().where('name', '=', name).executeTakeFirst();
}

/** Live services (not deleted), by name; with `deleted: true` only the tombstones. */
export async function listServiceRows(db: Kysely<Database>, filter: { deleted?: boolean } = {}): Promise<ServicesTable[]> {
  let q = db.selectFrom('services').selectAll().orderBy('name');
  q = filter.deleted ? q.where('deleted_at', 'is not', null) : q.where('deleted_at', 'is', null);
  return q.execute();
}

/**
 * Stores a spec. Same spec as the live one: nothing changes (`changed: false`). Otherwise the
 * revision goes up by one, also when a deleted service is created again, so no agent can mistake
 * the new spec for one it already has.
 */
export async function putServiceSpec(
  db: Kysely<Database>,
  name: string,
  spec: string,
  now: number,
): Promise<{ row: ServicesTable; changed: boolean }> {
  const existing = await getServiceRow(db, name);
  if (!existing) {
    const row: ServicesTable = { name, revision: 1, spec, created_at: now, updated_at: now, deleted_at: null };
    await db.insertInto('services').values(row).execute();
    return { row, changed: true };
  }
  if (existing.deleted_at === null && existing.spec === spec) return { row: existing, changed: false };
  const row = await db
    .updateTable('services')
    .set({
      revision: existing.revision + 1,
      spec,
      updated_at: now,
      deleted_at: null,
      ...(existing.deleted_at !== null ? { created_at: now } : {}),
    })
    .where('name', '=', name)
    .where('revision', '=', existing.revision)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new ConflictError('concurrent_change', `service ${name} was changed by another request at the same time; try again`);
  return { row, changed: true };
}

export async function markServiceDeleted(db: Kysely<Database>, name: string, now: number): Promise<ServicesTable | undefined> {
  return db
    .updateTable('services')
    .set({ deleted_at: now, updated_at: now })
    .where('name', '=', name)
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** Drops tombstones no node reports any more; returns their names. */
export async function purgeDeletedServices(db: Kysely<Database>): Promise<string[]> {
  const rows = await db
    .deleteFrom('services')
    .where('deleted_at', 'is not', null)
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('service_nodes').select('service_nodes.service').whereRef('service_nodes.service', '=', 'services.name'))),
    )
    .returning('name')
    .execute();
  return rows.map((r) => r.name);
}

export async function listServiceNodeRows(db: Kysely<Database>, filter: { service?: string; nodeId?: string } = {}): Promise<ServiceNodesTable[]> {
  let q = db.selectFrom('service_nodes').selectAll().orderBy('service').orderBy('node_id');
  if (filter.service) q = q.where('service', '=', filter.service);
  if (filter.nodeId) q = q.where('node_id', '=', filter.nodeId);
  return q.execute();
}

export async function upsertServiceNode(db: Kysely<Database>, row: ServiceNodesTable): Promise<void> {
  await db
    .insertInto('service_nodes')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['service', 'node_id']).doUpdateSet({
        revision: row.revision,
        version: row.version,
        state: row.state,
        report: row.report,
        updated_at: row.updated_at,
      }),
    )
    .execute();
}

export async function deleteServiceNode(db: Kysely<Database>, service: string, nodeId: string): Promise<boolean> {
  const res = await db.deleteFrom('service_nodes').where('service', '=', service).where('node_id', '=', nodeId).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/** Removes a node's rows for services it no longer reports; returns the names removed. */
export async function deleteServiceNodesExcept(db: Kysely<Database>, nodeId: string, keep: string[]): Promise<string[]> {
  let q = db.deleteFrom('service_nodes').where('node_id', '=', nodeId);
  if (keep.length) q = q.where('service', 'not in', keep);
  const rows = await q.returning('service').execute();
  return rows.map((r) => r.service);
}

/** Rows of nodes that were deleted; they would keep a deleted service's tombstone forever. */
export async function deleteOrphanServiceNodes(db: Kysely<Database>): Promise<number> {
  const res = await db
    .deleteFrom('service_nodes')
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('nodes').select('nodes.id').whereRef('nodes.id', '=', 'service_nodes.node_id'))))
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}

/** Service instances (one service on one node) by their reported state. */
export async function countServiceNodesByState(db: Kysely<Database>): Promise<{ state: string; n: number }[]> {
  const rows = await db
    .selectFrom('service_nodes')
    .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('state')
    .execute();
  return rows.map((r) => ({ state: r.state, n: Number(r.n) }));
}
