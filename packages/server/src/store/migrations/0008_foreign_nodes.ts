import type { Kysely } from 'kysely';
import { refuseDown } from './refuse-down.js';

export async function up(db: Kysely<any>): Promise<void> {
  // Nodes that speak a seed system's protocol (Retire-Cluster, BootAgent, BackupX) are nodes
  // like any other; `protocol` says which wire they use and `external_id` is the id that wire
  // gives them (a sender_id, an agentsn, a token id). Steward's own agents keep 'steward'.
  await db.schema.alterTable('nodes').addColumn('protocol', 'text', (c) => c.notNull().defaultTo('steward')).execute();
  await db.schema.alterTable('nodes').addColumn('external_id', 'text').execute();
  await db.schema.createIndex('nodes_protocol_external').on('nodes').columns(['protocol', 'external_id']).unique().execute();
  // Devices of protocols without credentials wait here until an operator (or an admitted
  // address range) lets them in, as `salt-key -a` does.
  await db.schema
    .createTable('admissions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('protocol', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text', (c) => c.notNull())
    .addColumn('hostname', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('profile', 'text', (c) => c.notNull())
    .addColumn('heartbeat_interval_ms', 'integer', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('node_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('seen_at', 'bigint', (c) => c.notNull())
    .addColumn('decided_at', 'bigint')
    .addColumn('decided_by', 'text')
    .execute();
  await db.schema.createIndex('admissions_protocol_external').on('admissions').columns(['protocol', 'external_id']).unique().execute();
}

export const down = refuseDown;
