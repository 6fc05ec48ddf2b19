import type { Kysely } from 'kysely';
import { refuseDown } from './refuse-down.js';

export async function up(db: Kysely<any>): Promise<void> {
  const big = 'bigint' as const;
  await db.schema
    .createTable('session_recordings')
    .addColumn('command_id', 'text', (c) => c.primaryKey())
    .addColumn('node_id', 'text', (c) => c.notNull())
    .addColumn('opened_by', 'text')
    .addColumn('opened_by_name', 'text')
    .addColumn('started_at', big, (c) => c.notNull())
    .addColumn('ended_at', big)
    .addColumn('end_state', 'text')
    .addColumn('exit_code', 'integer')
    .addColumn('bytes', big, (c) => c.notNull().defaultTo(0))
    .addColumn('artifact_sha256', 'text')
    .addColumn('claimed_at', big)
    .addColumn('created_at', big, (c) => c.notNull())
    .execute();
  // Listings (all, or one node's) newest first; retention walks the oldest ends.
  await db.schema.createIndex('session_recordings_started').on('session_recordings').column('started_at').execute();
  await db.schema.createIndex('session_recordings_node_started').on('session_recordings').columns(['node_id', 'started_at']).execute();
  await db.schema.createIndex('session_recordings_ended').on('session_recordings').column('ended_at').execute();
  // The catch-up looks for ended commands of one type (shell.session) every 30 s on every replica:
  // without this it would read every finished command each time.
  await db.schema.createIndex('commands_type_finished').on('commands').columns(['type', 'finished_at']).execute();
}

export const down = refuseDown;
