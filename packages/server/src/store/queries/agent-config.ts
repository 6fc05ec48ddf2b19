import type { Kysely } from 'kysely';
import type { AgentConfigDocumentsTable, Database, NodeConfigStatusTable } from '../schema.js';

/** Creates the document (version 1) or replaces it (version + 1); returns the stored row. */
export async function upsertConfigDocument(
  db: Kysely<Database>,
  row: Omit<AgentConfigDocumentsTable, 'version'>,
): Promise<AgentConfigDocumentsTable> {
  return db
    .insertInto('agent_config_documents')
    .values({ ...row, version: 1 })
    .onConflict((oc) =>
      oc.column('name').doUpdateSet((eb) => ({
        target: eb.ref('excluded.target'),
        priority: eb.ref('excluded.priority'),
        config: eb.ref('excluded.config'),
        updated_at: eb.ref('excluded.updated_at'),
        updated_by: eb.ref('excluded.updated_by'),
        version: eb(eb.ref('agent_config_documents.version'), '+', 1),
      })),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Every document in merge order: priority ascending, ties by name. */
export async function listConfigDocuments(db: Kysely<Database>): Promise<AgentConfigDocumentsTable[]> {
  return db.selectFrom('agent_config_documents').selectAll().orderBy('priority').orderBy('name').execute();
}

export async function getConfigDocument(db: Kysely<Database>, name: string): Promise<AgentConfigDocumentsTable | undefined> {
  return db.selectFrom('agent_config_documents').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function deleteConfigDocument(db: Kysely<Database>, name: string): Promise<boolean> {
  const res = await db.deleteFrom('agent_config_documents').where('name', '=', name).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/** Records that `revision` was pushed to the node (its answer columns are left as they are). */
export async function recordConfigSent(db: Kysely<Database>, nodeId: string, revision: string, at: number): Promise<void> {
  await db
    .insertInto('node_config_status')
    .values({ node_id: nodeId, desired_revision: revision, sent_at: at, reported_revision: null, state: null, reason: null, issues: null, reported_at: null })
    .onConflict((oc) => oc.column('node_id').doUpdateSet({ desired_revision: revision, sent_at: at }))
    .execute();
}

export interface ConfigReport {
  revision: string;
  state: string;
  reason: string | null;
  /** JSON FieldIssue[] or null. */
  issues: string | null;
  at: number;
}

/**
 * Stores the agent's answer about a revision unless a newer answer is already stored (a late
 * message from an old connection changes nothing). Says whether it was stored.
 */
export async function recordConfigReport(db: Kysely<Database>, nodeId: string, r: ConfigReport): Promise<boolean> {
  const res = await db
    .insertInto('node_config_status')
    .values({ node_id: nodeId, desired_revision: null, sent_at: null, reported_revision: r.revision, state: r.state, reason: r.reason, issues: r.issues, reported_at: r.at })
    .onConflict((oc) =>
      oc
        .column('node_id')
        .doUpdateSet({ reported_revision: r.revision, state: r.state, reason: r.reason, issues: r.issues, reported_at: r.at })
        .where((eb) => eb.or([eb('node_config_status.reported_at', 'is', null), eb('node_config_status.reported_at', '<=', r.at)])),
    )
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function getNodeConfigStatus(db: Kysely<Database>, nodeId: string): Promise<NodeConfigStatusTable | undefined> {
  return db.selectFrom('node_config_status').selectAll().where('node_id', '=', nodeId).executeTakeFirst();
}

/** The statuses of these nodes (those that have one). */
export async function listNodeConfigStatus(db: Kysely<Database>, nodeIds: string[]): Promise<NodeConfigStatusTable[]> {
  if (nodeIds.length === 0) return [];
  return db.selectFrom('node_config_status').selectAll().where('node_id', 'in', nodeIds).execute();
}

/** The revision last sent to each of these nodes (those that have one). */
export async function listSentRevisions(db: Kysely<Database>, nodeIds: string[]): Promise<Pick<NodeConfigStatusTable, 'node_id' | 'desired_revision'>[]> {
  if (nodeIds.length === 0) return [];
  return db.selectFrom('node_config_status').select(['node_id', 'desired_revision']).where('node_id', 'in', nodeIds).execute();
}

/** Forgets a deleted node's config status. */
export async function deleteNodeConfigStatus(db: Kysely<Database>, nodeId: string): Promise<void> {
  await db.deleteFrom('node_config_status').where('node_id', '=', nodeId).execute();
}
