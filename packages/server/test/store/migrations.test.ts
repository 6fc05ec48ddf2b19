import { sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { migrationProvider, migrations } from '../../src/store/migrations/index.js';
import { Store } from '../../src/store/store.js';
import { getNodeRow, insertNode } from '../../src/store/queries/nodes.js';
import { postgresTestUrl, storeTargets } from '../helpers/databases.js';
import { nodeRow } from '../helpers/rows.js';
import { waitFor } from '../../../../test/support/wait.js';

const TABLES = ['api_tokens', 'enrollment_tokens', 'nodes', 'commands', 'jobs', 'meta', 'artifacts', 'backups', 'backup_schedules', 'alerts', 'webhooks', 'webhook_deliveries', 'webhook_attempts', 'tasks', 'task_attempts', 'task_output', 'task_nodes', 'services', 'service_nodes', 'node_samples', 'audit_log', 'approval_policies', 'approval_requests', 'approval_votes', 'node_certificates', 'session_recordings', 'agent_config_documents', 'node_config_status', 'agent_upgrades', 'agent_upgrade_nodes'] as const;

/** Every migration the code defines, in name order: a fresh database gets all of them. */
const ALL_MIGRATIONS = Object.keys(await migrationProvider.getMigrations()).sort();

async function appliedMigrations(store: Store): Promise<string[]> {
  const rows = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(store.db);
  return rows.rows.map((r) => r.name);
}

describe('the migration list', () => {
  it('is in the order Kysely runs it (by name), and none can be undone', async () => {
    const names = Object.keys(migrations);
    expect(names).toEqual([...names].sort());
    for (const name of names) await expect(migrations[name]!.down!(undefined as never), name).rejects.toThrow('not supported');
  });
});

describe.each(storeTargets())('migrations on $name', (target) => {
  it('apply on a fresh database: every table exists and is empty', async () => {
    const fresh = await target.create();
    try {
      const store = await Store.open(fresh.target);
      try {
        expect(store.dialect).toBe(target.name);
        for (const table of TABLES) {
          const row = await store.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow();
          expect(Number(row.n), table).toBe(0);
        }
        expect(await appliedMigrations(store)).toEqual(ALL_MIGRATIONS);
        await store.ping();
      } finally {
        await store.close();
      }
    } finally {
      await fresh.drop();
    }
  });

  it('opening an existing database again migrates nothing and keeps the data', async () => {
    const fresh = await target.create();
    try {
      const first = await Store.open(fresh.target);
      const node = nodeRow({ connection_id: 'conn-1' });
      await insertNode(first.db, node);
      const before = await appliedMigrations(first);
      await first.close();

      const second = await Store.open(fresh.target);
      try {
        expect(await appliedMigrations(second)).toEqual(before);
        const again = await getNodeRow(second.db, node.id);
        expect(again?.name).toBe(node.name);
        // A SQLite file belongs to one control plane, so connections of the previous process are
        // cleared on open; PostgreSQL is shared by replicas whose connections are still live.
        expect(again?.connection_id).toBe(target.name === 'sqlite' ? null : 'conn-1');
      } finally {
        await second.close();
      }
    } finally {
      await fresh.drop();
    }
  });
});

// PostgreSQL only: several replicas share one database, and its connections can drop.
describe('migrations and connections on postgres', () => {
  const target = storeTargets().find((t) => t.name === 'postgres')!;

  it('replicas opening a fresh database at the same time all succeed', async () => {
    const fresh = await target.create();
    try {
      const stores = await Promise.all([1, 2, 3, 4].map(() => Store.open(fresh.target)));
      try {
        for (const s of stores) expect(await appliedMigrations(s)).toEqual(ALL_MIGRATIONS);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    } finally {
      await fresh.drop();
    }
  });

  it('survives the server closing idle pooled connections', async () => {
    const store = await target.open();
    try {
      await Promise.all([store.ping(), store.ping(), store.ping()]); // a few idle clients in the pool
      const { rows } = await sql<{ db: string }>`select current_database() as db`.execute(store.db);
      const db = rows[0]!.db;
      const admin = new pg.Client({ connectionString: postgresTestUrl() });
      await admin.connect();
      try {
        const killed = await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [db]);
        expect(killed.rowCount).toBeGreaterThan(0);
        // The server has closed them all: the pool's idle clients have their sockets' end.
        await waitFor('the terminated backends to be gone', async () => {
          const left = await admin.query('select count(*)::int as n from pg_stat_activity where datname = $1', [db]);
          return (left.rows[0] as { n: number }).n === 0;
        });
      } finally {
        await admin.end();
      }
      // Without an 'error' listener on the pg pool this is an uncaught exception in the process.
      await store.ping();
    } finally {
      await store.close();
    }
  });
});
