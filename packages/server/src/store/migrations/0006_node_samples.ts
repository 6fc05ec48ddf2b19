import type { Kysely } from 'kysely';
import { refuseDown } from './refuse-down.js';

export async function up(db: Kysely<any>): Promise<void> {
  const big = 'bigint' as const;
  // Recent heartbeat figures for the node charts; pruned past the retention (an hour).
  // No primary key: rows are only appended, read by (node_id, at) and deleted by age.
  await db.schema
    .createTable('node_samples')
    .addColumn('node_id', 'text', (c) => c.notNull())
    .addColumn('at', big, (c) => c.notNull())
    .addColumn('cpu_percent', 'real', (c) => c.notNull())
    .addColumn('memory_used', big, (c) => c.notNull())
    .addColumn('memory_total', big, (c) => c.notNull())
    .addColumn('disk_used', big, (c) => c.notNull())
    .addColumn('disk_total', big, (c) => c.notNull())
    .addColumn('load1', 'real', (c) => c.notNull())
    .addColumn('load5', 'real', (c) => c.notNull())
    .addColumn('load15', 'real', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('node_samples_node_at').on('node_samples').columns(['node_id', 'at']).execute();
  await db.schema.createIndex('node_samples_at').on('node_samples').column('at').execute();
}

export const down = refuseDown;
