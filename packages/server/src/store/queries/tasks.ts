import { sql, type Kysely } from 'kysely';
import {
  ACTIVE_ATTEMPT_STATES,
  attemptPredecessors,
  taskPredecessors,
  type AttemptState,
  type TaskPriority,
  type TaskState,
} from '@steward/protocol';
import type { Database, TaskAttemptsTable, TaskNodesTable, TaskOutputTable, TasksTable } from '../schema.js';

/** Statements stay under SQLite's and PostgreSQL's bound-parameter limits. */
const CHUNK = 500;
export const SCHEDULER_ROW = 'scheduler';

/** Inserts unless the request id exists; returns the row that holds the request id either way. */
export async function insertTaskOnce(db: Kysely<Database>, row: TasksTable): Promise<{ row: TasksTable; created: boolean }> {
  if (row.request_id === null) {
    await db.insertInto('tasks').values(row).execute();
    return { row, created: true };
  }
  const inserted = await db
    .insertInto('tasks')
    .values(row)
    .onConflict((oc) => oc.column('request_id').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { row: inserted, created: true };
  const existing = await db.selectFrom('tasks').selectAll().where('request_id', '=', row.request_id).executeTakeFirstOrThrow();
  return { row: existing, created: false };
}

export async function getTaskRow(db: Kysely<Database>, id: string): Promise<TasksTable | undefined> {
  return db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface TaskFilter {
  state?: TaskState;
  nodeId?: string;
  priority?: TaskPriority;
  limit?: number;
}

export async function listTaskRows(db: Kysely<Database>, f: TaskFilter): Promise<TasksTable[]> {
  let q = db.selectFrom('tasks').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc');
  if (f.state) q = q.where('state', '=', f.state);
  if (f.nodeId) q = q.where('node_id', '=', f.nodeId);
  if (f.priority) q = q.where('priority', '=', f.priority);
  return q.limit(f.limit ?? 500).execute();
}

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

type TaskPatch = Partial<Omit<TasksTable, 'id' | 'state'>>;

/** The one way a task changes state: a conditional update from the states the table allows. */
export async function transitionTask(
  db: Kysely<Database>,
  id: string,
  to: TaskState,
  patch: TaskPatch = {},
  /** Only while this attempt is the task's current one: a stale attempt cannot move the task. */
  onlyAttemptId?: string,
): Promise<TasksTable | undefined> {
  const from = taskPredecessors(to);
  if (from.length === 0) return undefined;
  let q = db
    .updateTable('tasks')
    .set({ ...patch, state: to })
    .where('id', '=', id)
    .where('state', 'in', from);
  if (onlyAttemptId !== undefined) q = q.where('current_attempt_id', '=', onlyAttemptId);
  return q.returningAll().executeTakeFirst();
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

/**
 * Queued tasks due now, in queue order: priority plus one level per `agingMs` waited (so low
 * priority is not starved), then oldest first.
 */
export async function dueQueuedTasks(db: Kysely<Database>, now: number, agingMs: number, limit: number, offset = 0): Promise<TasksTable[]> {
  const aging = Math.max(1, Math.floor(agingMs));
  return db
    .selectFrom('tasks')
    .selectAll()
    .where('state', '=', 'queued')
    .where((eb) => eb.or([eb('retry_at', 'is', null), eb('retry_at', '<=', now)]))
    .orderBy(sql`priority_rank + (${now} - queued_at) / ${aging}`, 'desc')
    .orderBy('queued_at')
    .orderBy('id')
    .limit(limit)
    .offset(offset)
    .execute();
}

export async function countTasksInState(db: Kysely<Database>, state: TaskState): Promise<number> {
  const row = await db
    .selectFrom('tasks')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('state', '=', state)
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

/** Scheduling facts of the nodes that are online now. */
export async function onlineTaskNodes(db: Kysely<Database>): Promise<TaskNodesTable[]> {
  return db
    .selectFrom('task_nodes')
    .innerJoin('nodes', 'nodes.id', 'task_nodes.node_id')
    .selectAll('task_nodes')
    .where('nodes.status', '=', 'online')
    .execute();
}

export async function getTaskNode(db: Kysely<Database>, nodeId: string): Promise<TaskNodesTable | undefined> {
  return db.selectFrom('task_nodes').selectAll().where('node_id', '=', nodeId).executeTakeFirst();
}

export async function upsertTaskNode(db: Kysely<Database>, row: TaskNodesTable): Promise<void> {
  const { node_id: _id, ...rest } = row;
  await db
    .insertInto('task_nodes')
    .values(row)
    .onConflict((oc) => oc.column('node_id').doUpdateSet(rest))
    .execute();
}

export async function deleteTaskNode(db: Kysely<Database>, nodeId: string): Promise<void> {
  await db.deleteFrom('task_nodes').where('node_id', '=', nodeId).execute();
}

/** Active attempts whose node is offline (or deleted): lost. */
export async function attemptsOnLostNodes(db: Kysely<Database>): Promise<TaskAttemptsTable[]> {
  return db
    .selectFrom('task_attempts')
    .leftJoin('nodes', 'nodes.id', 'task_attempts.node_id')
    .selectAll('task_attempts')
    .where('task_attempts.state', 'in', [...ACTIVE_ATTEMPT_STATES])
    .where((eb) => eb.or([eb('nodes.status', '=', 'offline'), eb('nodes.id', 'is', null)]))
    .execute();
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

/**
 * Marks queued tasks placed; returns the ids that were still queued (a cancel may have won).
 * One statement per chunk (CASE per column), not one per task: a pass may place thousands.
 */
export async function markPlaced(
  db: Kysely<Database>,
  placements: { taskId: string; nodeId: string; attemptId: string; number: number }[],
): Promise<Set<string>> {
  const ok = new Set<string>();
  const chunk = 200;
  for (let i = 0; i < placements.length; i += chunk) {
    const part = placements.slice(i, i + chunk);
    const ids = part.map((p) => p.taskId);
    const rows = await db
      .updateTable('tasks')
      .set({
        state: 'placed',
        reason: null,
        retry_at: null,
        progress: null,
        node_id: caseById(part.map((p) => [p.taskId, p.nodeId])),
        current_attempt_id: caseById(part.map((p) => [p.taskId, p.attemptId])),
        // number is always attempts + 1: only a queued task is placed, by the one lease holder.
        attempts: sql<number>`attempts + 1`,
      })
      .where('id', 'in', ids)
      .where('state', '=', 'queued')
      .returning('id')
      .execute();
    for (const r of rows) ok.add(r.id);
  }
  return ok;
}

/** `CASE id WHEN ? THEN ? … END` as a raw fragment (values bound as parameters). */
function caseById(pairs: [string, string][]) {
  const parts = pairs.map(([id, v]) => sql`when ${id} then ${v}`);
  return sql<string>`case id ${sql.join(parts, sql` `)} end`;
}

export async function insertAttempts(db: Kysely<Database>, rows: TaskAttemptsTable[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) await db.insertInto('task_attempts').values(rows.slice(i, i + CHUNK)).execute();
}

/** Stores why queued tasks wait; only rows still queued are touched. */
export async function setQueuedReason(db: Kysely<Database>, ids: string[], reason: string): Promise<void> {
  for (let i = 0; i < ids.length; i += CHUNK) {
    await db.updateTable('tasks').set({ reason }).where('id', 'in', ids.slice(i, i + CHUNK)).where('state', '=', 'queued').execute();
  }
}

// ---- the scheduler lease ----

export async function getSchedulerRow(db: Kysely<Database>) {
  return db.selectFrom('task_scheduler').selectAll().where('name', '=', SCHEDULER_ROW).executeTakeFirstOrThrow();
}

/**
 * Takes or renews the lease: succeeds when free, expired or already ours. Run inside the
 * placement transaction it is also the fence: on PostgreSQL the row lock makes a replica that
 * wants to take over wait until this transaction is done, and it then finds the lease renewed.
 */
export async function claimLease(db: Kysely<Database>, owner: string, now: number, ttlMs: number): Promise<boolean> {
  const r = await db
    .updateTable('task_scheduler')
    .set({ owner, expires_at: now + ttlMs })
    .where('name', '=', SCHEDULER_ROW)
    .where((eb) => eb.or([eb('owner', '=', owner), eb('owner', 'is', null), eb('expires_at', '<', now)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function releaseLease(db: Kysely<Database>, owner: string): Promise<void> {
  await db.updateTable('task_scheduler').set({ owner: null, expires_at: 0 }).where('name', '=', SCHEDULER_ROW).where('owner', '=', owner).execute();
}

export async function setSchedulerPaused(db: Kysely<Database>, paused: boolean): Promise<void> {
  await db.updateTable('task_scheduler').set({ paused: paused ? 1 : 0 }).where('name', '=', SCHEDULER_ROW).execute();
}

// ---- output ----

export async function insertOutput(db: Kysely<Database>, rows: TaskOutputTable[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    await db
      .insertInto('task_output')
      .values(rows.slice(i, i + CHUNK))
      .onConflict((oc) => oc.columns(['attempt_id', 'seq']).doNothing())
      .execute();
  }
}

/** Output of a task after (attempt number, seq), in order. */
export async function outputAfter(
  db: Kysely<Database>,
  taskId: string,
  after: { number: number; seq: number },
  limit = 1000,
): Promise<TaskOutputTable[]> {
  return db
    .selectFrom('task_output')
    .selectAll()
    .where('task_id', '=', taskId)
    .where((eb) => eb.or([eb('number', '>', after.number), eb.and([eb('number', '=', after.number), eb('seq', '>', after.seq)])]))
    .orderBy('number')
    .orderBy('seq')
    .limit(limit)
    .execute();
}

export async function addOutputBytes(db: Kysely<Database>, attemptId: string, bytes: number, truncated: boolean): Promise<void> {
  await db
    .updateTable('task_attempts')
    .set((eb) => ({ output_bytes: eb('output_bytes', '+', bytes), ...(truncated ? { output_truncated: 1 } : {}) }))
    .where('id', '=', attemptId)
    .execute();
}

export async function setAttemptProgress(db: Kysely<Database>, attemptId: string, taskId: string, percent: number): Promise<void> {
  await db.updateTable('task_attempts').set({ progress: percent }).where('id', '=', attemptId).execute();
  await db.updateTable('tasks').set({ progress: percent }).where('id', '=', taskId).where('current_attempt_id', '=', attemptId).execute();
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
