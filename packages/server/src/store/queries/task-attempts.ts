import type { Kysely } from 'kysely';
import { ACTIVE_ATTEMPT_STATES, attemptPredecessors, type AttemptState } from '@steward/protocol';
import type { Database, TaskAttemptsTable } from '../schema.js';
import { CHUNK } from './chunk.js';

export async function listAttemptRows(db: Kysely<Database>, taskId: string): Promise<TaskAttemptsTable[]> {
  return db.selectFrom('task_attempts').selectAll().where('task_id', '=', taskId).orderBy('number').execute();
}

export async function getAttemptRow(db: Kysely<Database>, id: string): Promise<TaskAttemptsTable | undefined> {
  return db.selectFrom('task_attempts').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function attemptsByCommandIds(db: Kysely<Database>, commandIds: string[]): Promise<TaskAttemptsTable[]> {
  const out: TaskAttemptsTable[] = [];
  for (let i = 0; i < commandIds.length; i += CHUNK) {
    out.push(...(await db.selectFrom('task_attempts').selectAll().where('command_id', 'in', commandIds.slice(i, i + CHUNK)).execute()));
  }
  return out;
}

export async function attemptsByIds(db: Kysely<Database>, ids: string[]): Promise<TaskAttemptsTable[]> {
  const out: TaskAttemptsTable[] = [];
  for (let i = 0; i < ids.length; i += CHUNK) {
    out.push(...(await db.selectFrom('task_attempts').selectAll().where('id', 'in', ids.slice(i, i + CHUNK)).execute()));
  }
  return out;
}

export async function insertAttempts(db: Kysely<Database>, rows: TaskAttemptsTable[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) await db.insertInto('task_attempts').values(rows.slice(i, i + CHUNK)).execute();
}

type AttemptPatch = Partial<Omit<TaskAttemptsTable, 'id' | 'state'>>;

export async function transitionAttempt(
  db: Kysely<Database>,
  id: string,
  to: AttemptState,
  patch: AttemptPatch = {},
): Promise<TaskAttemptsTable | undefined> {
  const from = attemptPredecessors(to);
  if (from.length === 0) return undefined;
  return db
    .updateTable('task_attempts')
    .set({ ...patch, state: to })
    .where('id', '=', id)
    .where('state', 'in', from)
    .returningAll()
    .executeTakeFirst();
}

/** Failed tries so far (lost or cancelled ones do not count against maxRetries). */
export async function countFailedAttempts(db: Kysely<Database>, taskId: string): Promise<number> {
  const row = await db
    .selectFrom('task_attempts')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('task_id', '=', taskId)
    .where('state', 'in', ['failed', 'timed_out'])
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Attempts placed or running, per node: what occupies its slots. */
export async function activeAttemptCounts(db: Kysely<Database>): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('task_attempts')
    .select(['node_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('state', 'in', [...ACTIVE_ATTEMPT_STATES])
    .groupBy('node_id')
    .execute();
  return new Map(rows.map((r) => [r.node_id, Number(r.n)]));
}

/** An active attempt on an offline (or deleted: nulls) node, with when the node was last heard from. */
export interface AttemptOnLostNode {
  attempt: TaskAttemptsTable;
  lastSeenAt: number | null;
  heartbeatIntervalMs: number | null;
}

/** Active attempts whose node is offline (or deleted): lost once the node's fence has passed (core/task-fence.ts). */
export async function attemptsOnLostNodes(db: Kysely<Database>): Promise<AttemptOnLostNode[]> {
  const rows = await db
    .selectFrom('task_attempts')
    .leftJoin('nodes', 'nodes.id', 'task_attempts.node_id')
    .selectAll('task_attempts')
    .select(['nodes.last_seen_at as node_last_seen_at', 'nodes.heartbeat_interval_ms as node_heartbeat_interval_ms'])
    .where('task_attempts.state', 'in', [...ACTIVE_ATTEMPT_STATES])
    .where((eb) => eb.or([eb('nodes.status', '=', 'offline'), eb('nodes.id', 'is', null)]))
    .execute();
  return rows.map(({ node_last_seen_at, node_heartbeat_interval_ms, ...attempt }) => ({
    attempt,
    lastSeenAt: node_last_seen_at === null ? null : Number(node_last_seen_at),
    heartbeatIntervalMs: node_heartbeat_interval_ms === null ? null : Number(node_heartbeat_interval_ms),
  }));
}

/** Active attempts whose command already ended: a terminal event this process never handled (crash). */
export async function attemptsWithEndedCommands(db: Kysely<Database>, limit = 1000): Promise<string[]> {
  const rows = await db
    .selectFrom('task_attempts')
    .innerJoin('commands', 'commands.id', 'task_attempts.command_id')
    .select('task_attempts.command_id')
    .where('task_attempts.state', 'in', [...ACTIVE_ATTEMPT_STATES])
    .where('commands.state', 'in', ['succeeded', 'failed', 'timed_out', 'cancelled', 'expired'])
    .limit(limit)
    .execute();
  return rows.map((r) => r.command_id);
}

/** Attempts in one of the given states (a scrape of the scheduler's load). */
export async function countAttemptsInStates(db: Kysely<Database>, states: readonly string[]): Promise<{ state: string; n: number }[]> {
  const rows = await db
    .selectFrom('task_attempts')
    .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
    .where('state', 'in', [...states])
    .groupBy('state')
    .execute();
  return rows.map((r) => ({ state: r.state, n: Number(r.n) }));
}
