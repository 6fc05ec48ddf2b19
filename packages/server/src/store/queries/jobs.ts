import type { Kysely } from 'kysely';
import { jobPredecessors, type JobState } from '@steward/protocol';
import type { CommandsTable, Database, JobsTable } from '../schema.js';

export async function insertJob(db: Kysely<Database>, row: JobsTable): Promise<void> {
  await db.insertInto('jobs').values(row).execute();
}

export async function findJobByRequestId(db: Kysely<Database>, requestId: string): Promise<JobsTable | undefined> {
  return db.selectFrom('jobs').selectAll().where('request_id', '=', requestId).executeTakeFirst();
}

export async function getJobRow(db: Kysely<Database>, id: string): Promise<JobsTable | undefined> {
  return db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listJobRows(db: Kysely<Database>, f: { state?: JobState; limit?: number }): Promise<JobsTable[]> {
  let q = db.selectFrom('jobs').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc');
  if (f.state) q = q.where('state', '=', f.state);
  return q.limit(f.limit ?? 500).execute();
}

export async function runningJobIds(db: Kysely<Database>): Promise<string[]> {
  const rows = await db.selectFrom('jobs').select('id').where('state', '=', 'running').execute();
  return rows.map((r) => r.id);
}

/**
 * Command count per state; held commands count as `queued` while they are pending. A held
 * command that ended without being released (cancelled singly, or with its node) counts by its
 * state: counted as queued it would keep the job running forever, since nothing releases it.
 */
export async function jobCounts(db: Kysely<Database>, jobId: string): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('commands')
    .select(['state', 'held', (eb) => eb.fn.countAll<number>().as('n')])
    .where('job_id', '=', jobId)
    .groupBy(['state', 'held'])
    .execute();
  const counts: Record<string, number> = {};
  for (const r of rows) {
    const key = Number(r.held) && r.state === 'pending' ? 'queued' : r.state;
    counts[key] = (counts[key] ?? 0) + Number(r.n);
  }
  return counts;
}

/**
 * How many of a job's commands are not over yet (queued, awaiting approval or unfinished): an
 * index-only count over those states, cheaper than `jobCounts` while a fan-out's results arrive.
 */
export async function countUnfinishedForJob(db: Kysely<Database>, jobId: string): Promise<number> {
  const row = await db
    .selectFrom('commands')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('job_id', '=', jobId)
    .where('state', 'in', ['awaiting_approval', 'pending', 'dispatched', 'running'])
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function transitionJob(
  db: Kysely<Database>,
  id: string,
  to: JobState,
  now: number,
): Promise<JobsTable | undefined> {
  const from = jobPredecessors(to);
  // Nothing moves back to running; an empty `IN ()` is a syntax error on PostgreSQL.
  if (from.length === 0) return undefined;
  return db
    .updateTable('jobs')
    .set({ state: to, finished_at: now })
    .where('id', '=', id)
    .where('state', 'in', from)
    .returningAll()
    .executeTakeFirst();
}

/** Frees up to `n` held commands of a job (batching); their TTL starts now. */
export async function releaseHeld(db: Kysely<Database>, jobId: string, n: number, now: number): Promise<CommandsTable[]> {
  if (n <= 0) return [];
  const ids = db
    .selectFrom('commands')
    .select('id')
    .where('job_id', '=', jobId)
    .where('held', '=', 1)
    .where('state', '=', 'pending')
    .orderBy('created_at')
    .orderBy('id')
    .limit(n);
  return db
    .updateTable('commands')
    .set((eb) => ({ held: 0, expires_at: eb('ttl_ms', '+', now) }))
    .where('id', 'in', ids)
    // Re-checked here: two replicas releasing at once must not both dispatch the same rows.
    .where('held', '=', 1)
    .returningAll()
    .execute();
}

export async function cancelHeld(db: Kysely<Database>, jobId: string, now: number): Promise<CommandsTable[]> {
  return db
    .updateTable('commands')
    .set({ held: 0, state: 'cancelled', secret_payload: null, finished_at: now, error: JSON.stringify({ code: 'cancelled', message: 'job cancelled' }) })
    .where('job_id', '=', jobId)
    .where('held', '=', 1)
    .returningAll()
    .execute();
}
