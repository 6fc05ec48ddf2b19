import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

/** The one row of `task_scheduler`: who holds the scheduler lease, until when, and whether scheduling is paused. */
export const SCHEDULER_ROW = 'scheduler';

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
