import type { Kysely } from 'kysely';
import { refuseDown } from './refuse-down.js';

export async function up(db: Kysely<any>): Promise<void> {
  // The latest progress a running command's agent reported (JSON, CommandProgress), so a client
  // that looks at the command, not only one following the event stream, sees how far it is.
  await db.schema.alterTable('commands').addColumn('progress', 'text').execute();
}

export const down = refuseDown;
