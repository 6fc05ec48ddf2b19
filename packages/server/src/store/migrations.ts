import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

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
  '0002_alerts': {
    async up(db: Kysely<any>) {
      const big = 'bigint' as const;
      await db.schema
        .createTable('alerts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('node_id', 'text')
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('first_fired_at', big, (c) => c.notNull())
        .addColumn('last_fired_at', big, (c) => c.notNull())
        .addColumn('resolved_at', big)
        .addColumn('resolve_summary', 'text')
        .addColumn('acked_at', big)
        .addColumn('acked_by', 'text')
        .execute();
      // At most one open alert per key: what makes firing a key twice update instead of add.
      await sql`CREATE UNIQUE INDEX alerts_open_key ON alerts (key) WHERE state = 'firing'`.execute(db);
      await db.schema.createIndex('alerts_state_fired').on('alerts').columns(['state', 'last_fired_at']).execute();
      await db.schema.createIndex('alerts_node').on('alerts').columns(['node_id', 'state']).execute();
      await db.schema
        .createTable('webhooks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('events', 'text', (c) => c.notNull())
        .addColumn('created_at', big, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('webhook_id', 'text', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('alert_id', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', big)
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', big)
        .addColumn('created_at', big, (c) => c.notNull())
        .addColumn('finished_at', big)
        .execute();
      await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['state', 'next_attempt_at']).execute();
      await db.schema.createIndex('webhook_deliveries_hook').on('webhook_deliveries').columns(['webhook_id', 'created_at']).execute();
      await db.schema
        .createTable('webhook_attempts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('delivery_id', 'text', (c) => c.notNull())
        .addColumn('n', 'integer', (c) => c.notNull())
        .addColumn('at', big, (c) => c.notNull())
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addColumn('status_code', 'integer')
        .addColumn('error', 'text')
        .execute();
      await db.schema.createIndex('webhook_attempts_delivery').on('webhook_attempts').columns(['delivery_id', 'n']).execute();
    },
    async down() {
      throw new Error('down migrations are not supported');
    },
  },
  '0002a_hosting': {
    // Secret parts of a payload (writeOnly in the command type's schema: passwords, private keys)
    // live here only until the command ends; `payload` always holds the redacted copy.
    async up(db: Kysely<any>) {
      await db.schema.alterTable('commands').addColumn('secret_payload', 'text').execute();
    },
    async down() {
      throw new Error('down migrations are not supported');
    },
  },
  '0003_artifacts_backups': {
    async up(db: Kysely<any>) {
      const big = 'bigint' as const;
      await db.schema
        .createTable('artifacts')
        .addColumn('sha256', 'text', (c) => c.primaryKey())
        .addColumn('size', big, (c) => c.notNull())
        .addColumn('name', 'text')
        .addColumn('created_at', big, (c) => c.notNull())
        .addColumn('created_by', 'text')
        .execute();
      await db.schema.createIndex('artifacts_created').on('artifacts').column('created_at').execute();
      await db.schema
        .createTable('backups')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('command_id', 'text', (c) => c.unique())
        .addColumn('schedule_id', 'text')
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('exclude', 'text', (c) => c.notNull())
        .addColumn('destination', 'text', (c) => c.notNull())
        .addColumn('archive_sha256', 'text', (c) => c.notNull())
        .addColumn('archive_size', big, (c) => c.notNull())
        .addColumn('manifest_sha256', 'text')
        .addColumn('file_count', 'integer', (c) => c.notNull())
        .addColumn('total_bytes', big, (c) => c.notNull())
        .addColumn('created_at', big, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('backups_node_created').on('backups').columns(['node_id', 'created_at']).execute();
      await db.schema.createIndex('backups_schedule_created').on('backups').columns(['schedule_id', 'created_at']).execute();
      await db.schema.createIndex('backups_archive').on('backups').column('archive_sha256').execute();
      await db.schema
        .createTable('backup_schedules')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text')
        .addColumn('cron', 'text', (c) => c.notNull())
        .addColumn('timezone', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('exclude', 'text', (c) => c.notNull())
        .addColumn('destination', 'text', (c) => c.notNull())
        .addColumn('keep_last', 'integer')
        .addColumn('keep_days', 'integer')
        .addColumn('next_run_at', big, (c) => c.notNull())
        .addColumn('last_run_at', big)
        .addColumn('created_at', big, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('backup_schedules_next').on('backup_schedules').column('next_run_at').execute();
    },
    async down() {
      throw new Error('down migrations are not supported');
    },
  },
  '0004_tasks': {
    async up(db: Kysely<any>) {
      const big = 'bigint' as const;
      const dbl = 'double precision' as const;
      await db.schema
        .createTable('tasks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('request_id', 'text', (c) => c.unique())
        .addColumn('request_hash', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('requirements', 'text', (c) => c.notNull())
        .addColumn('priority', 'text', (c) => c.notNull())
        .addColumn('priority_rank', 'integer', (c) => c.notNull())
        .addColumn('strategy', 'text')
        .addColumn('timeout_ms', big, (c) => c.notNull())
        .addColumn('max_retries', 'integer', (c) => c.notNull())
        .addColumn('retry_delay_ms', big, (c) => c.notNull())
        .addColumn('retry_on_node_loss', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('node_id', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('current_attempt_id', 'text')
        .addColumn('progress', dbl)
        .addColumn('exit_code', 'integer')
        .addColumn('error', 'text')
        .addColumn('retry_at', big)
        .addColumn('queued_at', big, (c) => c.notNull())
        .addColumn('created_at', big, (c) => c.notNull())
        .addColumn('started_at', big)
        .addColumn('finished_at', big)
        .execute();
      await db.schema.createIndex('tasks_state_queued').on('tasks').columns(['state', 'queued_at']).execute();
      await db.schema.createIndex('tasks_created').on('tasks').column('created_at').execute();
      await db.schema.createIndex('tasks_node').on('tasks').column('node_id').execute();
      await db.schema
        .createTable('task_attempts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('task_id', 'text', (c) => c.notNull())
        .addColumn('number', 'integer', (c) => c.notNull())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('command_id', 'text', (c) => c.notNull().unique())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('placed_at', big, (c) => c.notNull())
        .addColumn('started_at', big)
        .addColumn('finished_at', big)
        .addColumn('exit_code', 'integer')
        .addColumn('signal', 'text')
        .addColumn('cpu_ms', dbl)
        .addColumn('peak_memory_bytes', dbl)
        .addColumn('progress', dbl)
        .addColumn('output_bytes', big, (c) => c.notNull().defaultTo(0))
        .addColumn('output_truncated', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('tail', 'text')
        .addColumn('error', 'text')
        .execute();
      await db.schema.createIndex('task_attempts_task').on('task_attempts').columns(['task_id', 'number']).unique().execute();
      await db.schema.createIndex('task_attempts_state_node').on('task_attempts').columns(['state', 'node_id']).execute();
      await db.schema
        .createTable('task_output')
        .addColumn('attempt_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('task_id', 'text', (c) => c.notNull())
        .addColumn('number', 'integer', (c) => c.notNull())
        .addColumn('stream', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('at', big, (c) => c.notNull())
        .addPrimaryKeyConstraint('task_output_pk', ['attempt_id', 'seq'])
        .execute();
      await db.schema.createIndex('task_output_task').on('task_output').columns(['task_id', 'number', 'seq']).execute();
      await db.schema
        .createTable('task_nodes')
        .addColumn('node_id', 'text', (c) => c.primaryKey())
        .addColumn('slots', 'integer', (c) => c.notNull())
        .addColumn('cpu_cores', 'integer', (c) => c.notNull())
        .addColumn('memory_bytes', dbl, (c) => c.notNull())
        .addColumn('disk_bytes', dbl, (c) => c.notNull())
        .addColumn('platform', 'text', (c) => c.notNull())
        .addColumn('arch', 'text', (c) => c.notNull())
        .addColumn('capabilities', 'text', (c) => c.notNull())
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('load', dbl, (c) => c.notNull())
        .addColumn('updated_at', big, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('task_scheduler')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text')
        .addColumn('expires_at', big, (c) => c.notNull())
        .addColumn('paused', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.insertInto('task_scheduler').values({ name: 'scheduler', owner: null, expires_at: 0, paused: 0 }).execute();
    },
    async down() {
      throw new Error('down migrations are not supported');
    },
  },
  '0005_services': {
    async up(db: Kysely<any>) {
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
  '0007_backup_deleted_at': {
    async up(db: Kysely<any>) {
      // A deleted backup keeps its row with deleted_at set, so reconciling succeeded
      // backup.run commands cannot tell it apart from one never recorded and bring it back.
      await db.schema.alterTable('backups').addColumn('deleted_at', 'bigint').execute();
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
