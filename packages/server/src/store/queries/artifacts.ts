import type { Kysely } from 'kysely';
import type { ArtifactsTable, Database } from '../schema.js';

/** Inserts the row unless the sha is already known; either way returns the stored row. */
export async function insertArtifactOnce(db: Kysely<Database>, row: ArtifactsTable): Promise<{ row: ArtifactsTable; created: boolean }> {
  const inserted = await db
    .insertInto('artifacts')
    .values(row)
    .onConflict((oc) => oc.column('sha256').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { row: inserted, created: true };
  return { row: await db.selectFrom('artifacts').selectAll().where('sha256', '=', row.sha256).executeTakeFirstOrThrow(), created: false };
}

export async function getArtifactRow(db: Kysely<Database>, sha256: string): Promise<ArtifactsTable | undefined> {
  return db.selectFrom('artifacts').selectAll().where('sha256', '=', sha256).executeTakeFirst();
}

export async function listArtifactRows(db: Kysely<Database>, filter: { name?: string; limit?: number } = {}): Promise<ArtifactsTable[]> {
  let q = db.selectFrom('artifacts').selectAll().orderBy('created_at', 'desc').orderBy('sha256');
  if (filter.name) q = q.where('name', '=', filter.name);
  return q.limit(filter.limit ?? 500).execute();
}

export async function deleteArtifactRow(db: Kysely<Database>, sha256: string): Promise<boolean> {
  const res = await db.deleteFrom('artifacts').where('sha256', '=', sha256).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/**
 * Whether a node may read an artifact: it uploaded it, or a command sent to it names it (a
 * restore's archive, a service's bundle). Commands keep artifacts by their sha256 in the
 * payload; `sha256` is 64 hex digits (checked by the route), so it holds no LIKE wildcard.
 */
export async function nodeMayReadArtifact(db: Kysely<Database>, nodeId: string, sha256: string): Promise<boolean> {
  const own = await db.selectFrom('artifacts').select('sha256').where('sha256', '=', sha256).where('created_by', '=', `node:${nodeId}`).executeTakeFirst();
  if (own) return true;
  const named = await db.selectFrom('commands').select('id').where('node_id', '=', nodeId).where('payload', 'like', `%${sha256}%`).limit(1).executeTakeFirst();
  return named !== undefined;
}

/** How many artifacts one uploader (`node:<id>`) has stored, and their bytes (the per-node quota). */
export async function artifactUsageBy(db: Kysely<Database>, createdBy: string): Promise<{ count: number; bytes: number }> {
  const row = await db
    .selectFrom('artifacts')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('size').as('bytes')])
    .where('created_by', '=', createdBy)
    .executeTakeFirst();
  return { count: Number(row?.n ?? 0), bytes: Number(row?.bytes ?? 0) };
}
