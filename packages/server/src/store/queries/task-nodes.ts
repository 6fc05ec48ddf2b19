import type { Kysely } from 'kysely';
import type { Database, NodesTable, TaskNodesTable } from '../schema.js';

/** Scheduling facts of the nodes that are online now. */
export async function onlineTaskNodes(db: Kysely<Database>): Promise<TaskNodesTable[]> {
  return db
    .selectFrom('task_nodes')
    .innerJoin('nodes', 'nodes.id', 'task_nodes.node_id')
    .selectAll('task_nodes')
    .where('nodes.status', '=', 'online')
    .execute();
}

/** What a node's scheduling facts are made from (not the whole row: stats are not needed). */
export async function getNodeFactsSource(db: Kysely<Database>, nodeId: string): Promise<Pick<NodesTable, 'labels' | 'inventory'> | undefined> {
  return db.selectFrom('nodes').select(['labels', 'inventory']).where('id', '=', nodeId).executeTakeFirst();
}

export async function upsertTaskNode(db: Kysely<Database>, row: TaskNodesTable): Promise<void> {
  const { node_id: _id, ...rest } = row;
  await db
    .insertInto('task_nodes')
    .values(row)
    .onConflict((oc) => oc.column('node_id').doUpdateSet(rest))
    .execute();
}

/** Copies a node's labels into its scheduling facts (one statement; nothing when either row is gone). */
export async function refreshTaskNodeLabels(db: Kysely<Database>, nodeId: string, now: number): Promise<void> {
  const labels = db.selectFrom('nodes').select('nodes.labels').where('nodes.id', '=', nodeId);
  await db
    .updateTable('task_nodes')
    .set({ labels: labels.$asScalar(), updated_at: now })
    .where('node_id', '=', nodeId)
    .where((eb) => eb.exists(labels))
    .execute();
}

export async function deleteTaskNode(db: Kysely<Database>, nodeId: string): Promise<void> {
  await db.deleteFrom('task_nodes').where('node_id', '=', nodeId).execute();
}
