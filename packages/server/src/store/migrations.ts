import { type Kysely, type Migration, type MigrationProvider } from 'kysely';

/**
 * Migrations are code (not files found at run time) so they ship inside the package and
 * run the same on SQLite and PostgreSQL. Append only; never edit one that has shipped.
 */
const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<any>) {
      const big = 'bigint' as const;
      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', big, (c) => c.notNull())
        .addColumn('last_used_at', big)
        .execute();
      await db.schema
        .createTable('enrollment_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('expires_at', big, (c) => c.notNull())
        .addColumn('uses_allowed', 'integer', (c) => c.notNull())
        .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('note', 'text')
        .addColumn('created_at', big, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('nodes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('credential_hash', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('inventory', 'text', (c) => c.notNull())
        .addColumn('stats', 'text')
        .addColumn('heartbeat_interval_ms', 'integer', (c) => c.notNull())
        .addColumn('connection_id', 'text')
        .addColumn('last_seen_at', big)
        .addColumn('status_changed_at', big, (c) => c.notNull())
        .addColumn('created_at', big, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('nodes_status').on('nodes').column('status').execute();
      await db.schema
        .createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('request_id', 'text', (c) => c.unique())
        .addColumn('request_hash', 'text')
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('batch_size', 'integer')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('total', 'integer', (c) => c.notNull())
        .addColumn('created_at', big, (c) => c.notNull())
        .addColumn('finished_at', big)
        .execute();
      await db.schema
        .createTable('commands')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('request_id', 'text', (c) => c.unique())
        .addColumn('request_hash', 'text')
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('job_id', 'text')
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('timeout_ms', big, (c) => c.notNull())
        .addColumn('ttl_ms', big, (c) => c.notNull())
        .addColumn('expires_at', big)
        .addColumn('held', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', big, (c) => c.notNull())
        .addColumn('dispatched_at', big)
        .addColumn('started_at', big)
        .addColumn('finished_at', big)
        .addColumn('deliveries', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('result', 'text')
        .addColumn('error', 'text')
        .execute();
      await db.schema.createIndex('commands_node_state').on('commands').columns(['node_id', 'state']).execute();
      await db.schema.createIndex('commands_state_expires').on('commands').columns(['state', 'expires_at']).execute();
      await db.schema.createIndex('commands_job_state').on('commands').columns(['job_id', 'state']).execute();
      await db.schema.createIndex('commands_created').on('commands').column('created_at').execute();
      await db.schema
        .createTable('meta')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },
    async down() {
      throw new Error('down migrations are not supported');
    },
  },
  '0006_node_samples': {
    async up(db: Kysely<any>) {
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
    },
    async down() {
      throw new Error('down migrations are not supported');
    },
  },
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
