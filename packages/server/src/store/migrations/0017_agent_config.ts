import type { Kysely } from 'kysely';
import { refuseDown } from './refuse-down.js';

export async function up(db: Kysely<any>): Promise<void> {
  const big = 'bigint' as const;
  // Layered desired agent configuration (issue 15): merged by priority into one config per node.
  await db.schema
    .createTable('agent_config_documents')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('priority', 'integer', (c) => c.notNull())
    .addColumn('config', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .execute();
  // Per node: the revision last pushed to it, and what its agent last said about one.
  await db.schema
    .createTable('node_config_status')
    .addColumn('node_id', 'text', (c) => c.primaryKey())
    .addColumn('desired_revision', 'text')
    .addColumn('sent_at', big)
    .addColumn('reported_revision', 'text')
    .addColumn('state', 'text')
    .addColumn('reason', 'text')
    .addColumn('issues', 'text')
    .addColumn('reported_at', big)
    .execute();
}

export const down = refuseDown;
