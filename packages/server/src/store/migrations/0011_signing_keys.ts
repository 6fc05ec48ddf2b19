import type { Kysely } from 'kysely';
import { refuseDown } from './refuse-down.js';

export async function up(db: Kysely<any>): Promise<void> {
  // The public halves of the keys that sign dispatched commands. Every replica signs with a key
  // listed here (the private key is a file in its data dir); `not_after` is set when a rotation
  // retires a key, and agents drop it after that moment.
  await db.schema
    .createTable('signing_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('not_after', 'bigint')
    .execute();
  // A revoked node's credential is refused for good; the row stays for its history.
  await db.schema.alterTable('nodes').addColumn('revoked_at', 'bigint').execute();
  // A rotation in progress: the new credential's hash is accepted too until the agent confirms
  // it stored it; then it replaces `credential_hash` and the old one stops working.
  await db.schema.alterTable('nodes').addColumn('next_credential_hash', 'text').execute();
}

export const down = refuseDown;
