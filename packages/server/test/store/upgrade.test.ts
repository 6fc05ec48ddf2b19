import { copyFileSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Migrator, sql, type Kysely } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/store/connect.js';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { Store } from '../../src/store/store.js';
import { getAlert } from '../../src/store/queries/alerts.js';
import { getArtifactRow } from '../../src/store/queries/artifacts.js';
import { getBackupSchedule } from '../../src/store/queries/backup-schedules.js';
import { getBackupRow } from '../../src/store/queries/backups.js';
import { getCommandRow, markDelivered } from '../../src/store/queries/commands.js';
import { getEnrollmentToken } from '../../src/store/queries/enrollment.js';
import { getJobRow, jobCounts } from '../../src/store/queries/jobs.js';
import { getNodeRow } from '../../src/store/queries/nodes.js';
import { listNodeSamples } from '../../src/store/queries/samples.js';
import { getServiceRow, listServiceNodeRows } from '../../src/store/queries/services.js';
import { getTaskRow } from '../../src/store/queries/tasks.js';
import { listAttemptRows } from '../../src/store/queries/task-attempts.js';
import { onlineTaskNodes } from '../../src/store/queries/task-nodes.js';
import { outputAfter } from '../../src/store/queries/task-output.js';
import { claimLease, getSchedulerRow } from '../../src/store/queries/task-scheduler.js';
import { getApiToken } from '../../src/store/queries/tokens.js';
import { getDelivery, getWebhook, listAttempts } from '../../src/store/queries/webhooks.js';
import type { Database } from '../../src/store/schema.js';
import * as F from '../fixtures/fixture-rows.js';
import { storeTargets, type FreshDatabase, type StoreTarget } from '../helpers/databases.js';

/**
 * A database made by an older control plane must open with this code: the old migrations are
 * recognised (none runs again), every row reads back through today's store functions, the
 * schema is the one a fresh database gets, and a migration added later applies on top.
 * The fixtures were made by `test/fixtures/make-fixture.ts` at commit a250aa8.
 */
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/main-a250aa8');

/** A fresh database holding a copy of the fixture (the committed files are never opened). */
async function fixtureCopy(target: StoreTarget): Promise<FreshDatabase> {
  const fresh = await target.create();
  if (target.name === 'sqlite') {
    copyFileSync(join(FIXTURES, 'steward.sqlite'), fresh.target);
    return fresh;
  }
  // pg_dump's `\restrict` lines are psql meta-commands; the rest is plain SQL (INSERTs, no COPY).
  const dump = readFileSync(join(FIXTURES, 'postgres.sql'), 'utf8')
    .split('\n')
    .filter((line) => !line.startsWith('\\'))
    .join('\n');
  const client = new pg.Client({ connectionString: fresh.target });
  await client.connect();
  try {
    await client.query(dump);
  } finally {
    await client.end();
  }
  return fresh;
}

async function migrationRows(db: Kysely<Database>): Promise<{ name: string; timestamp: string }[]> {
  const { rows } = await sql<{ name: string; timestamp: string }>`select name, timestamp from kysely_migration order by name`.execute(db);
  return rows;
}

/** Tables, columns, types and indexes as the database describes them. */
async function schemaOf(store: Store): Promise<unknown[]> {
  if (store.dialect === 'sqlite') {
    const { rows } = await sql`select type, name, tbl_name, sql from sqlite_master order by type, name`.execute(store.db);
    return rows;
  }
  const columns = await sql`
    select table_name, column_name, data_type, is_nullable, column_default, ordinal_position
    from information_schema.columns where table_schema = 'public' order by table_name, ordinal_position`.execute(store.db);
  const indexes = await sql`select indexname, indexdef from pg_indexes where schemaname = 'public' order by indexname`.execute(store.db);
  return [...columns.rows, ...indexes.rows];
}

describe.each(storeTargets())('a database made by a250aa8 on $name', (target) => {
  it('migrates without re-running old migrations and reads every row back', async () => {
    const fixture = await fixtureCopy(target);
    try {
      const raw = connect(fixture.target);
      const before = await migrationRows(raw.db);
      await raw.db.destroy();
      expect(before.map((m) => m.name)).toEqual(F.MAIN_A250AA8_MIGRATIONS);

      const store = await Store.open(fixture.target);
      try {
        // Same names with the same timestamps: nothing ran again, and nothing is missing; the
        // migrations added since a250aa8 ran once each, after the old ones.
        const known = Object.keys(await migrationProvider.getMigrations()).sort();
        expect(known.slice(0, F.MAIN_A250AA8_MIGRATIONS.length)).toEqual(F.MAIN_A250AA8_MIGRATIONS);
        const after = await migrationRows(store.db);
        expect(after.slice(0, before.length)).toEqual(before);
        expect(after.slice(before.length).map((m) => m.name)).toEqual(known.slice(F.MAIN_A250AA8_MIGRATIONS.length));

        const db = store.db;
        expect(await getApiToken(db, F.apiToken.id)).toEqual(F.apiToken);
        expect(await getEnrollmentToken(db, F.enrollmentToken.id)).toEqual(F.enrollmentToken);
        // A node of 0001 is a Steward agent's: later columns take their defaults. On SQLite the
        // open itself turns an online node `reconnecting` (one file, one control plane: nobody
        // holds its connection until its agent says hello again).
        const reconnecting = target.name === 'sqlite' && F.node.status === 'online' ? { status: 'reconnecting', status_changed_at: expect.any(Number) } : {};
        expect(await getNodeRow(db, F.node.id)).toEqual({ ...F.node, protocol: 'steward', external_id: null, revoked_at: null, next_credential_hash: null, version_skew: null, ...reconnecting });
        expect(await getJobRow(db, F.job.id)).toEqual(F.job);
        expect(await jobCounts(db, F.job.id)).toEqual({ succeeded: 1 });
        for (const c of [F.jobCommand, F.pendingCommand, F.taskCommand]) expect(await getCommandRow(db, c.id)).toEqual({ ...c, progress: null, output_seq: 0, output_bytes: 0, output_truncated: 0 });
        expect(await getTaskRow(db, F.task.id)).toEqual(F.task);
        expect(await listAttemptRows(db, F.task.id)).toEqual([F.attempt]);
        expect(await outputAfter(db, F.task.id, { number: 0, seq: 0 })).toEqual(F.output);
        // A reconnecting node (SQLite, above) gets no placements until its agent is back.
        expect(await onlineTaskNodes(db)).toEqual(target.name === 'sqlite' ? [] : [F.taskNode]);
        expect(await getSchedulerRow(db)).toEqual({ name: 'scheduler', owner: null, expires_at: 0, paused: 0 });
        expect(await getAlert(db, F.alert.id)).toEqual(F.alert);
        expect(await getWebhook(db, F.webhook.id)).toEqual(F.webhook);
        expect(await getDelivery(db, F.delivery.id)).toEqual(F.delivery);
        expect(await listAttempts(db, [F.delivery.id])).toEqual([F.webhookAttempt]);
        expect(await getArtifactRow(db, F.artifact.sha256)).toEqual(F.artifact);
        expect(await getBackupSchedule(db, F.backupSchedule.id)).toEqual(F.backupSchedule);
        expect(await getBackupRow(db, F.backup.id)).toEqual({ ...F.backup, deleted_at: null });
        expect(await getServiceRow(db, F.service.name)).toEqual(F.service);
        expect(await listServiceNodeRows(db, { service: F.service.name })).toEqual([F.serviceNode]);
        expect(await listNodeSamples(db, F.node.id, 0, 10)).toEqual(F.samples);

        // Old rows take part in today's state changes.
        const now = F.pendingCommand.created_at + 1000;
        expect(await markDelivered(db, [F.pendingCommand.id], now)).toEqual([
          expect.objectContaining({ id: F.pendingCommand.id, state: 'dispatched', deliveries: 1 }),
        ]);
        expect(await claimLease(db, 'replica-after-upgrade', now, 10_000)).toBe(true);
      } finally {
        await store.close();
      }
    } finally {
      await fixture.drop();
    }
  });

  it('ends with the schema a fresh database gets', async () => {
    const fixture = await fixtureCopy(target);
    const fresh = await target.create();
    try {
      const upgraded = await Store.open(fixture.target);
      const created = await Store.open(fresh.target);
      try {
        const schema = await schemaOf(created);
        expect(schema.length).toBeGreaterThan(40);
        expect(await schemaOf(upgraded)).toEqual(schema);
      } finally {
        await upgraded.close();
        await created.close();
      }
    } finally {
      await fixture.drop();
      await fresh.drop();
    }
  });

  it('applies a migration added after today on top, and only that one', async () => {
    const fixture = await fixtureCopy(target);
    try {
      const store = await Store.open(fixture.target);
      try {
        const before = await migrationRows(store.db);
        const current = await migrationProvider.getMigrations();
        const migrator = new Migrator({
          db: store.db,
          provider: {
            getMigrations: async () => ({
              ...current,
              '9999_probe': {
                async up(db: Kysely<any>) {
                  await db.schema.alterTable('nodes').addColumn('probe', 'text').execute();
                },
              },
            }),
          },
        });
        const { error, results } = await migrator.migrateToLatest();
        expect(error).toBeUndefined();
        expect(results?.map((r) => [r.migrationName, r.status])).toEqual([['9999_probe', 'Success']]);
        expect((await migrationRows(store.db)).slice(0, before.length)).toEqual(before);
        // The old row is still there, with the new column empty.
        const { rows } = await sql<{ probe: string | null }>`select probe from nodes where id = ${F.node.id}`.execute(store.db);
        expect(rows).toEqual([{ probe: null }]);
      } finally {
        await store.close();
      }
    } finally {
      await fixture.drop();
    }
  });
});
