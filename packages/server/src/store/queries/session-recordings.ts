import type { Kysely } from 'kysely';
import type { CommandsTable, Database, SessionRecordingsTable } from '../schema.js';

const ENDED_STATES = ['succeeded', 'failed', 'timed_out', 'cancelled', 'expired'];

/** Notes a session when it is opened (or first seen ended); nothing when it is noted already. */
export async function insertSessionOnce(db: Kysely<Database>, row: SessionRecordingsTable): Promise<boolean> {
  const res = await db.insertInto('session_recordings').values(row).onConflict((oc) => oc.doNothing()).executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
}

/**
 * Takes on writing a session's recording: true for the one replica whose claim holds. A claim
 * older than `staleBefore` (its replica died mid-write) may be taken again.
 */
export async function claimSessionRecording(db: Kysely<Database>, commandId: string, now: number, staleBefore: number): Promise<boolean> {
  const res = await db
    .updateTable('session_recordings')
    .set({ claimed_at: now })
    .where('command_id', '=', commandId)
    .where('ended_at', 'is', null)
    .where((eb) => eb.or([eb('claimed_at', 'is', null), eb('claimed_at', '<', staleBefore)]))
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export type SessionEnd = Pick<SessionRecordingsTable, 'started_at' | 'ended_at' | 'end_state' | 'exit_code' | 'bytes' | 'artifact_sha256'>;

/** Records a session's end (and its recording, when it ran); once. */
export async function finishSessionRecording(db: Kysely<Database>, commandId: string, end: SessionEnd): Promise<boolean> {
  const res = await db.updateTable('session_recordings').set(end).where('command_id', '=', commandId).where('ended_at', 'is', null).executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** A session with a recording (a deleted or never-run one is not). */
export async function getSessionRecording(db: Kysely<Database>, commandId: string): Promise<SessionRecordingsTable | undefined> {
  return db.selectFrom('session_recordings').selectAll().where('command_id', '=', commandId).where('artifact_sha256', 'is not', null).executeTakeFirst();
}

export interface SessionFilter {
  nodeId?: string;
  /** Sessions started before this time (paging). */
  before?: number;
  limit?: number;
}

/** Recorded sessions, newest first. */
export async function listSessionRecordings(db: Kysely<Database>, f: SessionFilter = {}): Promise<SessionRecordingsTable[]> {
  let q = db.selectFrom('session_recordings').selectAll().where('artifact_sha256', 'is not', null).orderBy('started_at', 'desc').orderBy('command_id', 'desc');
  if (f.nodeId) q = q.where('node_id', '=', f.nodeId);
  if (f.before !== undefined) q = q.where('started_at', '<', f.before);
  return q.limit(f.limit ?? 500).execute();
}

/**
 * Forgets a session's recording; the row stays (without it) so the session is not recorded
 * again from its output. True for the one caller that removed it.
 */
export async function dropSessionRecording(db: Kysely<Database>, commandId: string, sha256: string): Promise<boolean> {
  const res = await db
    .updateTable('session_recordings')
    .set({ artifact_sha256: null, bytes: 0 })
    .where('command_id', '=', commandId)
    .where('artifact_sha256', '=', sha256)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Recordings of sessions that ended before `endedBefore` (retention), oldest first. */
export async function expiredSessionRecordings(db: Kysely<Database>, endedBefore: number, limit = 100): Promise<SessionRecordingsTable[]> {
  return db
    .selectFrom('session_recordings')
    .selectAll()
    .where('artifact_sha256', 'is not', null)
    .where('ended_at', '<', endedBefore)
    .orderBy('ended_at')
    .limit(limit)
    .execute();
}

/** How many recordings use an artifact (the store is content-addressed). */
export async function countRecordingsUsingArtifact(db: Kysely<Database>, sha256: string): Promise<number> {
  const row = await db
    .selectFrom('session_recordings')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('artifact_sha256', '=', sha256)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Ended `shell.session` commands whose end is not recorded yet (a replica died at the wrong
 * moment, or the result arrived at another replica), excluding those a replica claimed since
 * `staleBefore`.
 */
export async function unrecordedSessionCommands(db: Kysely<Database>, staleBefore: number, limit = 50): Promise<CommandsTable[]> {
  return db
    .selectFrom('commands')
    .selectAll()
    .where('type', '=', 'shell.session')
    .where('state', 'in', ENDED_STATES)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('session_recordings')
            .select('session_recordings.command_id')
            .whereRef('session_recordings.command_id', '=', 'commands.id')
            .where((w) => w.or([w('session_recordings.ended_at', 'is not', null), w('session_recordings.claimed_at', '>=', staleBefore)])),
        ),
      ),
    )
    .orderBy('finished_at')
    .limit(limit)
    .execute();
}
