import type { Kysely } from 'kysely';
import type { Database, TaskOutputTable } from '../schema.js';
import { CHUNK } from './chunk.js';

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

/**
 * Output of a task's attempts streamed as their commands' output (`command_output`, agents
 * that stream task output that way) after (attempt number, seq), in the same shape and order.
 */
export async function commandOutputOfTaskAfter(
  db: Kysely<Database>,
  taskId: string,
  after: { number: number; seq: number },
  limit = 1000,
): Promise<TaskOutputTable[]> {
  return db
    .selectFrom('command_output as o')
    .innerJoin('task_attempts as a', 'a.command_id', 'o.command_id')
    .select(['a.id as attempt_id', 'o.seq as seq', 'a.task_id as task_id', 'a.number as number', 'o.stream as stream', 'o.data as data', 'o.at as at'])
    .where('a.task_id', '=', taskId)
    .where((eb) => eb.or([eb('a.number', '>', after.number), eb.and([eb('a.number', '=', after.number), eb('o.seq', '>', after.seq)])]))
    .orderBy('a.number')
    .orderBy('o.seq')
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
