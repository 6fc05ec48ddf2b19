import type { Kysely } from 'kysely';
import type { BackupsTable, CommandsTable, Database } from '../schema.js';

/** Records a backup once (a result seen twice, or by two replicas, or after its deletion, adds nothing). */
export async function insertBackupOnce(db: Kysely<Database>, row: BackupsTable): Promise<boolean> {
  const res = await db
    .insertInto('backups')
    .values(row)
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function getBackupRow(db: Kysely<Database>, id: string): Promise<BackupsTable | undefined> {
  return db.selectFrom('backups').selectAll().where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
}

export interface BackupFilter {
  nodeId?: string;
  scheduleId?: string;
  destination?: string;
  limit?: number;
}

export async function listBackupRows(db: Kysely<Database>, f: BackupFilter = {}): Promise<BackupsTable[]> {
  let q = db.selectFrom('backups').selectAll().where('deleted_at', 'is', null).orderBy('created_at', 'desc').orderBy('id', 'desc');
  if (f.nodeId) q = q.where('node_id', '=', f.nodeId);
  if (f.scheduleId) q = q.where('schedule_id', '=', f.scheduleId);
  if (f.destination) q = q.where('destination', '=', f.destination);
  return q.limit(f.limit ?? 500).execute();
}

/**
 * Marks a backup deleted (the row stays as its tombstone). True for the one caller that
 * deleted it; concurrent deleters get false.
 */
export async function deleteBackupRow(db: Kysely<Database>, id: string, at: number): Promise<boolean> {
  const res = await db.updateTable('backups').set({ deleted_at: at }).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** How many backups still use an artifact (identical archives share one sha). */
export async function countBackupsUsingArtifact(db: Kysely<Database>, sha256: string): Promise<number> {
  const row = await db
    .selectFrom('backups')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('deleted_at', 'is', null)
    .where((eb) => eb.or([eb('archive_sha256', '=', sha256), eb('manifest_sha256', '=', sha256)]))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Succeeded `backup.run` commands whose backup is not recorded yet (a result stored just
 * before a crash). A deleted backup's row is still there, so its command is not among them.
 */
export async function unrecordedBackupCommands(db: Kysely<Database>, limit = 100): Promise<CommandsTable[]> {
  return db
    .selectFrom('commands')
    .selectAll()
    .where('type', '=', 'backup.run')
    .where('state', '=', 'succeeded')
    .where((eb) => eb.not(eb.exists(eb.selectFrom('backups').select('backups.id').whereRef('backups.command_id', '=', 'commands.id'))))
    .orderBy('finished_at')
    .limit(limit)
    .execute();
}
