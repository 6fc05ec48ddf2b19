import { sql, type Kysely } from 'kysely';
import { refuseDown } from './refuse-down.js';

export async function up(db: Kysely<any>): Promise<void> {
  // Output retention looks for finished commands that still hold stored output. Only those are
  // in this (partial) index, so the sweep does not scan every command ever run each time; once a
  // command's output is dropped its output_bytes is 0 and it leaves the index.
  await db.schema
    .createIndex('commands_output_finished')
    .on('commands')
    .column('finished_at')
    .where(sql.ref('output_bytes'), '>', sql.lit(0))
    .execute();
}

export const down = refuseDown;
