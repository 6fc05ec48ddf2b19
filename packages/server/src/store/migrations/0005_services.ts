import type { Kysely } from 'kysely';
import { refuseDown } from './refuse-down.js';

export async function up(db: Kysely<any>): Promise<void> {
  const big = 'bigint' as const;
  // Desired state; a deleted service stays as a tombstone (deleted_at) until no node reports it,
  // and its revision keeps counting if it is created again.
  await db.schema
    .createTable('services')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .addColumn('deleted_at', big)
    .execute();
  // What each node last reported about each service.
  await db.schema
    .createTable('service_nodes')
    .addColumn('service', 'text', (c) => c.notNull())
    .addColumn('node_id', 'text', (c) => c.notNull())
    .addColumn('revision', 'integer')
    .addColumn('version', 'text')
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('report', 'text', (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('service_nodes_pk', ['service', 'node_id'])
    .execute();
  await db.schema.createIndex('service_nodes_node').on('service_nodes').column('node_id').execute();
}

export const down = refuseDown;
