import type { Kysely } from 'kysely';
import type { BackupSchedulesTable, Database } from '../schema.js';

export async function insertBackupSchedule(db: Kysely<Database>, row: BackupSchedulesTable): Promise<void> {
  await db.insertInto('backup_schedules').values(row).execute();
}

export async function getBackupSchedule(db: Kysely<Database>, id: string): Promise<BackupSchedulesTable | undefined> {
  return db.selectFrom('backup_schedules').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listBackupSchedules(db: Kysely<Database>): Promise<BackupSchedulesTable[]> {
  return db.selectFrom('backup_schedules').selectAll().orderBy('created_at').orderBy('id').execute();
}

export async function deleteBackupSchedule(db: Kysely<Database>, id: string): Promise<boolean> {
  const res = await db.deleteFrom('backup_schedules').where('id', '=', id).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

export async function dueBackupSchedules(db: Kysely<Database>, now: number, limit = 100): Promise<BackupSchedulesTable[]> {
  return db.selectFrom('backup_schedules').selectAll().where('next_run_at', '<=', now).orderBy('next_run_at').limit(limit).execute();
}

/**
 * Claims the run owed at `owed` by moving the schedule on to `next`, in one conditional update:
 * of several control planes sweeping one database, exactly one sees true and runs it.
 */
export async function claimBackupScheduleRun(db: Kysely<Database>, id: string, owed: number, next: number, now: number): Promise<boolean> {
  const res = await db
    .updateTable('backup_schedules')
    .set({ next_run_at: next, last_run_at: now })
    .where('id', '=', id)
    .where('next_run_at', '=', owed)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}
