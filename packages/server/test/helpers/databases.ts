import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, beforeEach } from 'vitest';
import { Store } from '../../src/store/store.js';

export type StoreTargetName = 'sqlite' | 'postgres';

export interface FreshDatabase {
  /** What `Store.open` takes: a SQLite file path or a `postgres://` URL. */
  target: string;
  /** Deletes the database; call after every Store on it is closed. */
  drop(): Promise<void>;
}

export interface StoreTarget {
  name: StoreTargetName;
  /** A freshly created, migrated, empty database. `close()` also deletes it. */
  open(): Promise<Store>;
  /** A fresh empty database (not migrated), for tests that open it themselves, e.g. twice. */
  create(): Promise<FreshDatabase>;
}

/**
 * Both databases the store supports. Use with `describe.each(storeTargets())('… on $name', …)`
 * so every store test runs on SQLite and on PostgreSQL. PostgreSQL is never skipped: without
 * `STEWARD_TEST_PG_URL` its tests fail with a message saying how to start one.
 */
export function storeTargets(): StoreTarget[] {
  return [
    { name: 'sqlite', open: () => openFresh(createSqlite), create: createSqlite },
    { name: 'postgres', open: () => openFresh(createPostgres), create: createPostgres },
  ];
}

/** Opens a fresh store before each test and closes (and deletes) it after; read `.store` in tests. */
export function useFreshStore(target: StoreTarget): { readonly store: Store } {
  let current: Store | undefined;
  beforeEach(async () => {
    current = await target.open();
  });
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return {
    get store(): Store {
      if (!current) throw new Error('useFreshStore: no store outside a test');
      return current;
    },
  };
}

async function openFresh(create: () => Promise<FreshDatabase>): Promise<Store> {
  const fresh = await create();
  try {
    return withCleanup(await Store.open(fresh.target), fresh.drop);
  } catch (e) {
    await fresh.drop().catch(() => {});
    throw e;
  }
}

/** Wraps `close` so it runs once and then removes the database. */
function withCleanup(store: Store, cleanup: () => Promise<void> | void): Store {
  const close = store.close.bind(store);
  let closing: Promise<void> | undefined;
  store.close = () =>
    (closing ??= (async () => {
      try {
        await close();
      } finally {
        await cleanup();
      }
    })());
  return store;
}

async function createSqlite(): Promise<FreshDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'steward-store-test-'));
  return {
    target: join(dir, 'steward.db'),
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function postgresTestUrl(): string {
  const url = process.env.STEWARD_TEST_PG_URL;
  if (url) return url;
  if (process.env.CI) {
    throw new Error(
      'STEWARD_TEST_PG_URL is not set on CI: .ci/run should have started PostgreSQL ' +
        '(eval "$(scripts/pg-test-cluster.sh start)") before `npm test`. PostgreSQL store tests are never skipped.',
    );
  }
  throw new Error(
    'STEWARD_TEST_PG_URL is not set and test/global-setup.ts could not start PostgreSQL. ' +
      'Run `eval "$(scripts/pg-test-cluster.sh start)"` (or point STEWARD_TEST_PG_URL at a PostgreSQL ' +
      'where the user may CREATE DATABASE). PostgreSQL store tests are never skipped.',
  );
}

async function withAdmin<T>(baseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** A URL for the same server with another database name. */
export function withDatabase(baseUrl: string, database: string): string {
  const u = new URL(baseUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A new database `steward_t_<random>` on the test server, dropped (even if still in use) by `drop`. */
async function createPostgres(): Promise<FreshDatabase> {
  const base = postgresTestUrl();
  const database = `steward_t_${randomBytes(8).toString('hex')}`;
  await withAdmin(base, (c) => c.query(`CREATE DATABASE ${database}`));
  return {
    target: withDatabase(base, database),
    drop: async () => {
      await withAdmin(base, (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
    },
  };
}
