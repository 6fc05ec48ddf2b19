import type { Kysely } from 'kysely';
import { refuseDown } from './refuse-down.js';

// Secret parts of a payload (writeOnly in the command type's schema: passwords, private keys)
// live here only until the command ends; `payload` always holds the redacted copy.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('commands').addColumn('secret_payload', 'text').execute();
}

export const down = refuseDown;
