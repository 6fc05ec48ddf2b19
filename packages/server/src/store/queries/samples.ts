import type { Kysely } from 'kysely';
import type { Database, NodeSamplesTable } from '../schema.js';

/** Rows per INSERT: 10 columns each stays well under SQLite's and PostgreSQL's parameter limits. */
const CHUNK = 500;

export async function insertNodeSamples(db: Kysely<Database>, rows: readonly NodeSamplesTable[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    await db.insertInto('node_samples').values(rows.slice(i, i + CHUNK)).execute();
  }
}

export async function listNodeSamples(db: Kysely<Database>, nodeId: string, since: number, limit: number): Promise<NodeSamplesTable[]> {
  return db
    .selectFrom('node_samples')
    .selectAll()
    .where('node_id', '=', nodeId)
    .where('at', '>', since)
    .orderBy('at')
    .limit(limit)
    .execute();
}

/** Deletes samples taken before `before`; returns how many went. */
export async function pruneNodeSamples(db: Kysely<Database>, before: number): Promise<number> {
  const res = await db.deleteFrom('node_samples').where('at', '<', before).executeTakeFirst();
  return Number(res.numDeletedRows);
}

export async function deleteNodeSamples(db: Kysely<Database>, nodeId: string): Promise<void> {
  await db.deleteFrom('node_samples').where('node_id', '=', nodeId).execute();
}
