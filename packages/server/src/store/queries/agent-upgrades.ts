import type { Kysely } from 'kysely';
import {
  agentUpgradeNodePredecessors,
  agentUpgradePredecessors,
  type AgentUpgradeNodeState,
  type AgentUpgradeState,
} from '@steward/protocol';
import type { AgentUpgradeNodesTable, AgentUpgradesTable, Database } from '../schema.js';

/** Rows per insert: 11 columns each stays far under both databases' bound-parameter limits. */
const ROWS_PER_INSERT = 200;

/** A rollout and its nodes; call inside `store.tx` so nobody sees a rollout without its nodes. */
export async function insertAgentUpgrade(db: Kysely<Database>, row: AgentUpgradesTable, nodes: AgentUpgradeNodesTable[]): Promise<void> {
  await db.insertInto('agent_upgrades').values(row).execute();
  for (let i = 0; i < nodes.length; i += ROWS_PER_INSERT) await db.insertInto('agent_upgrade_nodes').values(nodes.slice(i, i + ROWS_PER_INSERT)).execute();
}

export async function getAgentUpgradeRow(db: Kysely<Database>, id: string): Promise<AgentUpgradesTable | undefined> {
  return db.selectFrom('agent_upgrades').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listAgentUpgradeRows(db: Kysely<Database>, f: { state?: AgentUpgradeState; limit?: number }): Promise<AgentUpgradesTable[]> {
  let q = db.selectFrom('agent_upgrades').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc');
  if (f.state) q = q.where('state', '=', f.state);
  return q.limit(f.limit ?? 100).execute();
}

/** Rollouts the driver works on. */
export async function runningAgentUpgradeIds(db: Kysely<Database>): Promise<string[]> {
  const rows = await db.selectFrom('agent_upgrades').select('id').where('state', '=', 'running').orderBy('created_at').execute();
  return rows.map((r) => r.id);
}

/** The rollout's nodes in upgrade order, with their names (null: the node was deleted since). */
export async function agentUpgradeNodeRows(db: Kysely<Database>, upgradeId: string): Promise<(AgentUpgradeNodesTable & { name: string | null })[]> {
  return db
    .selectFrom('agent_upgrade_nodes as u')
    .leftJoin('nodes as n', 'n.id', 'u.node_id')
    .selectAll('u')
    .select('n.name as name')
    .where('u.upgrade_id', '=', upgradeId)
    .orderBy('u.position')
    .execute();
}

/** Node count per state, for lists. */
export async function agentUpgradeCounts(db: Kysely<Database>, upgradeIds: string[]): Promise<Map<string, Record<string, number>>> {
  const out = new Map<string, Record<string, number>>();
  if (upgradeIds.length === 0) return out;
  const rows = await db
    .selectFrom('agent_upgrade_nodes')
    .select(['upgrade_id', 'state', (eb) => eb.fn.countAll<number>().as('n')])
    .where('upgrade_id', 'in', upgradeIds)
    .groupBy(['upgrade_id', 'state'])
    .execute();
  for (const r of rows) {
    const counts = out.get(r.upgrade_id) ?? {};
    counts[r.state] = Number(r.n);
    out.set(r.upgrade_id, counts);
  }
  return out;
}

/**
 * Moves the rollout to `to` if its state allows it (AGENT_UPGRADE_TRANSITIONS); undefined when it
 * did not (already there, or a final state). `reason` is kept for paused/aborted, cleared on resume.
 */
export async function transitionAgentUpgrade(
  db: Kysely<Database>,
  id: string,
  to: AgentUpgradeState,
  now: number,
  reason: string | null = null,
): Promise<AgentUpgradesTable | undefined> {
  const from = agentUpgradePredecessors(to);
  if (from.length === 0) return undefined;
  const final = to === 'aborted' || to === 'completed';
  return db
    .updateTable('agent_upgrades')
    .set({ state: to, reason, updated_at: now, ...(final ? { finished_at: now } : {}) })
    .where('id', '=', id)
    .where('state', 'in', from)
    .returningAll()
    .executeTakeFirst();
}

/** A node starts upgrading: pending → upgrading with its command, once (two drivers cannot both start it). */
export async function startAgentUpgradeNode(
  db: Kysely<Database>,
  upgradeId: string,
  nodeId: string,
  commandId: string,
  now: number,
): Promise<AgentUpgradeNodesTable | undefined> {
  return db
    .updateTable('agent_upgrade_nodes')
    .set({ state: 'upgrading', command_id: commandId, started_at: now })
    .where('upgrade_id', '=', upgradeId)
    .where('node_id', '=', nodeId)
    .where('state', 'in', agentUpgradeNodePredecessors('upgrading'))
    .returningAll()
    .executeTakeFirst();
}

/** A node's outcome, if its state allows it (a late or repeated report changes nothing). */
export async function finishAgentUpgradeNode(
  db: Kysely<Database>,
  upgradeId: string,
  nodeId: string,
  to: Exclude<AgentUpgradeNodeState, 'pending' | 'upgrading'>,
  reason: string | null,
  now: number,
): Promise<AgentUpgradeNodesTable | undefined> {
  return db
    .updateTable('agent_upgrade_nodes')
    .set({ state: to, reason, finished_at: now })
    .where('upgrade_id', '=', upgradeId)
    .where('node_id', '=', nodeId)
    .where('state', 'in', agentUpgradeNodePredecessors(to))
    .returningAll()
    .executeTakeFirst();
}

/** An aborted rollout's nodes that never started. */
export async function skipPendingAgentUpgradeNodes(db: Kysely<Database>, upgradeId: string, now: number): Promise<number> {
  const res = await db
    .updateTable('agent_upgrade_nodes')
    .set({ state: 'skipped', reason: 'the upgrade was aborted before this node\'s turn', finished_at: now })
    .where('upgrade_id', '=', upgradeId)
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** The newest artifact stored under `name` (agent packages are found by their file name). */
export async function artifactByName(db: Kysely<Database>, name: string): Promise<{ sha256: string; size: number } | undefined> {
  return db.selectFrom('artifacts').select(['sha256', 'size']).where('name', '=', name).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
}
