import type { Kysely } from 'kysely';
import { refuseDown } from './refuse-down.js';

export async function up(db: Kysely<any>): Promise<void> {
  // A job's commands are read a page at a time in id order (`WHERE job_id = ? AND id > ? ORDER BY id`):
  // without this index every page of a 10,000-node job sorts all its rows again.
  await db.schema.createIndex('commands_job_id').on('commands').columns(['job_id', 'id']).execute();
}

export const down = refuseDown;
