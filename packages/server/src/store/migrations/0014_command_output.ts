import type { Kysely } from 'kysely';
import { refuseDown } from './refuse-down.js';

export async function up(db: Kysely<any>): Promise<void> {
  // Output chunks agents stream while a command runs; (command_id, seq) makes a resent chunk a no-op.
  await db.schema
    .createTable('command_output')
    .addColumn('command_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('command_output_pk', ['command_id', 'seq'])
    .execute();
  // The next seq the control plane expects (all before it are stored or past the cap), the bytes
  // stored, and whether the cap cut the output: readers compare output_seq to what they sent.
  await db.schema.alterTable('commands').addColumn('output_seq', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('commands').addColumn('output_bytes', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('commands').addColumn('output_truncated', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}

export const down = refuseDown;
