import type { Kysely } from 'kysely';
import { refuseDown } from './refuse-down.js';

export async function up(db: Kysely<any>): Promise<void> {
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
}

export const down = refuseDown;
