import type { Kysely } from 'kysely';
import { refuseDown } from './refuse-down.js';

export async function up(db: Kysely<any>): Promise<void> {
  const big = 'bigint' as const;
  // Fleet-wide agent upgrades (issue 17 item 5): one row per rollout, its state machine in
  // AGENT_UPGRADE_TRANSITIONS (packages/protocol/src/states.ts).
  await db.schema
    .createTable('agent_upgrades')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('batch_size', 'integer')
    .addColumn('max_unavailable', 'integer')
    .addColumn('canary', 'integer', (c) => c.notNull())
    .addColumn('failure_threshold', 'integer', (c) => c.notNull())
    .addColumn('grace_ms', 'integer', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('updated_at', big, (c) => c.notNull())
    .addColumn('finished_at', big)
    .execute();
  await db.schema.createIndex('agent_upgrades_state').on('agent_upgrades').columns(['state']).execute();
  // Each node of a rollout, in the order it is upgraded (position), with its batch and outcome.
  await db.schema
    .createTable('agent_upgrade_nodes')
    .addColumn('upgrade_id', 'text', (c) => c.notNull())
    .addColumn('node_id', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('batch', 'integer', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('from_version', 'text')
    .addColumn('command_id', 'text')
    .addColumn('reason', 'text')
    .addColumn('started_at', big)
    .addColumn('finished_at', big)
    .addPrimaryKeyConstraint('agent_upgrade_nodes_pk', ['upgrade_id', 'node_id'])
    .execute();
}

export const down = refuseDown;
