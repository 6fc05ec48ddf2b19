import type { Kysely } from 'kysely';
import { refuseDown } from './refuse-down.js';

export async function up(db: Kysely<any>): Promise<void> {
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
}

export const down = refuseDown;
