import type { Kysely } from 'kysely';
import { refuseDown } from './refuse-down.js';

export async function up(db: Kysely<any>): Promise<void> {
  // A deleted backup keeps its row with deleted_at set, so reconciling succeeded
  // backup.run commands cannot tell it apart from one never recorded and bring it back.
  await db.schema.alterTable('backups').addColumn('deleted_at', 'bigint').execute();
}

export const down = refuseDown;
