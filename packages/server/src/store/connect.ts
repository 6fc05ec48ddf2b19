import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, type LogEvent } from 'kysely';
import { FastSqliteDialect } from './sqlite-dialect.js';
import pg from 'pg';
import { migrationProvider } from './migrations/index.js';
import type { Database } from './schema.js';

export type DialectName = 'sqlite' | 'postgres';

export interface Connected {
  db: Kysely<Database>;
  dialect: DialectName;
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

const INT8_OID = 20;

/** What a query observer hears: the statement's kind (SelectQueryNode…), its time, and whether it failed. */
export interface QueryTiming {
  kind: string;
  ms: number;
  failed: boolean;
}

/** Opens SQLite (a file path or `:memory:`) or PostgreSQL (`postgres://…`). */
export function connect(target: string, onQuery?: (t: QueryTiming) => void): Connected {
  const log = onQuery
    ? (e: LogEvent) => onQuery({ kind: e.query.query.kind, ms: e.queryDurationMillis, failed: e.level === 'error' })
    : undefined;
  if (isPostgresUrl(target)) {
    const pool = new pg.Pool({
      connectionString: target,
      max: 10,
      // A database that stopped answering (not refusing) must not hold requests forever: they
      // fail after this and are answered 503 store_unavailable (store/unavailable.ts).
      connectionTimeoutMillis: 10_000,
      // bigint columns hold millisecond times, far below 2^53.
      types: {
        getTypeParser: ((oid: number, format?: string) =>
          oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as never,
      },
    });
    // An idle pooled connection that the server closes (restart, failover, idle timeout,
    // pg_terminate_backend) makes the pool emit 'error'; with no listener that is an uncaught
    // exception that kills the control plane. The pool has already discarded that client and
    // the next query opens a new one; a lasting outage still fails the queries themselves.
    pool.on('error', () => {});
    // The pool listens only to idle clients: one checked out (a transaction between two
    // statements) whose server goes away emits 'error' with nobody listening, which also kills
    // the process. Its statements fail on their own and are answered 503 store_unavailable.
    pool.on('connect', (client) => client.on('error', () => {}));
    return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log }), dialect: 'postgres' };
  }
  if (target !== ':memory:') {
    mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
    // The store holds credential hashes and payloads: owner only. SQLite gives its -wal and -shm
    // files the database file's mode, so creating (or tightening) that one is enough.
    closeSync(openSync(target, 'a', 0o600));
    chmodSync(target, 0o600);
  }
  const sqlite = new SqliteDatabase(target);
  sqlite.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a commit survives any process crash (what "kill -9 loses nothing"
  // asks for) without an fsync per transaction; only an OS crash may lose the last commits.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  return { db: new Kysely<Database>({ dialect: new FastSqliteDialect(sqlite), log }), dialect: 'sqlite' };
}

export async function migrateToLatest(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`schema migration failed${failed ? ` at ${failed.migrationName}` : ''}: ${String(error)}`, { cause: error });
  }
}
