import { sql, type Kysely } from 'kysely';
import type { CommandOutputTable, Database } from '../schema.js';
import { CHUNK } from './chunk.js';

/** Where a command's stored output stands, for the recorder and for readers. */
export interface OutputState {
  id: string;
  node_id: string;
  job_id: string | null;
  state: string;
  output_seq: number;
  output_bytes: number;
  output_truncated: number;
}

const STATE_COLUMNS = ['id', 'node_id', 'job_id', 'state', 'output_seq', 'output_bytes', 'output_truncated'] as const;

export async function getOutputState(db: Kysely<Database>, commandId: string): Promise<OutputState | undefined> {
  return (await db.selectFrom('commands').select(STATE_COLUMNS).where('id', '=', commandId).executeTakeFirst()) as OutputState | undefined;
}

/** Every command of a job with where its output stands: one query per look, however many commands. */
export async function jobOutputStates(db: Kysely<Database>, jobId: string): Promise<OutputState[]> {
  return (await db.selectFrom('commands').select(STATE_COLUMNS).where('job_id', '=', jobId).orderBy('id').execute()) as OutputState[];
}

/**
 * Moves the command's expected seq from `from` to `to` and counts what was stored; false when
 * another writer moved it first (a resend raced a live send), so the caller stores nothing.
 */
export async function advanceOutput(
  db: Kysely<Database>,
  commandId: string,
  from: number,
  to: number,
  bytes: number,
  truncated: boolean,
): Promise<boolean> {
  const res = await db
    .updateTable('commands')
    .set((eb) => ({ output_seq: to, output_bytes: eb('output_bytes', '+', bytes), ...(truncated ? { output_truncated: 1 } : {}) }))
    .where('id', '=', commandId)
    .where('output_seq', '=', from)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/** Stores chunks; one already stored (same command and seq) is left as it is. */
export async function insertOutputChunks(db: Kysely<Database>, rows: CommandOutputTable[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    await db
      .insertInto('command_output')
      .values(rows.slice(i, i + CHUNK))
      .onConflict((oc) => oc.columns(['command_id', 'seq']).doNothing())
      .execute();
  }
}

/** A command's chunks after `after`, in order. */
export async function outputAfter(db: Kysely<Database>, commandId: string, after: number, limit = 1000): Promise<CommandOutputTable[]> {
  return db.selectFrom('command_output').selectAll().where('command_id', '=', commandId).where('seq', '>', after).orderBy('seq').limit(limit).execute();
}

/**
 * Chunks of several commands, each after its own seq, in (command, seq) order: what a job's
 * readers have not seen yet, in one query per batch of commands.
 */
export async function outputOfCommandsAfter(
  db: Kysely<Database>,
  cursors: { commandId: string; after: number }[],
  limit = 1000,
): Promise<CommandOutputTable[]> {
  if (cursors.length === 0) return [];
  return db
    .selectFrom('command_output')
    .selectAll()
    .where((eb) => eb.or(cursors.map((c) => eb.and([eb('command_id', '=', c.commandId), eb('seq', '>', c.after)]))))
    .orderBy('command_id')
    .orderBy('seq')
    .limit(limit)
    .execute();
}

/**
 * Drops the stored output of up to `limit` commands that finished before `finishedBefore` and
 * sets their output_bytes to 0, so they are not looked at again (the index of this look holds
 * only commands with output). Their results keep the tail. Run in one transaction; returns how
 * many commands lost their output.
 */
export async function pruneFinishedOutput(db: Kysely<Database>, finishedBefore: number, limit = 200): Promise<number> {
  // The literal 0 matches the partial index's predicate (commands_output_finished); a bound
  // parameter would not let SQLite or PostgreSQL prove the index applies.
  const rows = await db
    .selectFrom('commands')
    .select('id')
    .where('output_bytes', '>', sql.lit(0))
    .where('finished_at', '<', finishedBefore)
    .limit(limit)
    .execute();
  if (rows.length === 0) return 0;
  const ids = rows.map((r) => r.id);
  await db.deleteFrom('command_output').where('command_id', 'in', ids).execute();
  await db.updateTable('commands').set({ output_bytes: 0 }).where('id', 'in', ids).execute();
  return ids.length;
}
