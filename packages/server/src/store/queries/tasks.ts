import { sql, type Kysely } from 'kysely';
import { ExecTaskPayload, isTerminalTaskState, redactWriteOnly, ScriptTaskPayload, taskPredecessors, type TaskPriority, type TaskState } from '@steward/protocol';
import type { Database, TasksTable } from '../schema.js';
import { CHUNK } from './chunk.js';

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

/** What decides whether a task is tried again after an attempt fails or its node is lost. */
export async function getTaskRetryPolicy(
  db: Kysely<Database>,
  id: string,
): Promise<Pick<TasksTable, 'max_retries' | 'retry_delay_ms' | 'retry_on_node_loss'> | undefined> {
  return db.selectFrom('tasks').select(['max_retries', 'retry_delay_ms', 'retry_on_node_loss']).where('id', '=', id).executeTakeFirst();
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
  const row = await q.returningAll().executeTakeFirst();
  if (row && isTerminalTaskState(to)) await forgetTaskSecrets(db, row);
  return row;
}

/** A finished task is never sent again: its secret env values (writeOnly) need not be kept. */
async function forgetTaskSecrets(db: Kysely<Database>, row: TasksTable): Promise<void> {
  const shown = redactWriteOnly(row.kind === 'script' ? ScriptTaskPayload : ExecTaskPayload, JSON.parse(row.payload));
  if (!shown.redacted) return;
  row.payload = JSON.stringify(shown.value);
  await db.updateTable('tasks').set({ payload: row.payload }).where('id', '=', row.id).execute();
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

/** Stores why queued tasks wait; only rows still queued are touched. */
export async function setQueuedReason(db: Kysely<Database>, ids: string[], reason: string): Promise<void> {
  for (let i = 0; i < ids.length; i += CHUNK) {
    await db.updateTable('tasks').set({ reason }).where('id', 'in', ids.slice(i, i + CHUNK)).where('state', '=', 'queued').execute();
  }
}
