/**
 * Micro-benchmark behind the fan-out findings: what one command state change costs in the
 * control plane's store, and how that changes with the query queue depth, statement caching
 * and transactions. Uses the server's real schema, pragmas and `transitionCommand`.
 *   npx tsx bench/micro-sqlite.ts [N=5000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, type DatabaseConnection, type Driver, type TransactionSettings } from 'kysely';
import { newId } from '@steward/protocol';
import { Store } from '@steward/server';
import { transitionCommand } from '../packages/server/src/store/queries/commands.js';
import type { CommandsTable, Database as Schema } from '../packages/server/src/store/schema.js';

/**
 * Prototype of two fixes for the server's store, measured below:
 *  - a FIFO hand-off instead of Kysely's SQLite ConnectionMutex, whose unlock() wakes every
 *    waiter (each re-checks and re-awaits: O(queue depth) per query, O(n²) per burst);
 *  - a prepared-statement cache (Kysely's SqliteConnection calls db.prepare() for every query).
 */
class FifoDriver implements Driver {
  private busy = false;
  private readonly waiters: (() => void)[] = [];
  constructor(private readonly inner: Driver) {}
  init(): Promise<void> {
    return this.inner.init();
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    if (this.busy) await new Promise<void>((r) => this.waiters.push(r));
    this.busy = true;
    return this.inner.acquireConnection(); // uncontended: we hand out one at a time
  }
  async releaseConnection(c: DatabaseConnection): Promise<void> {
    await this.inner.releaseConnection(c);
    const next = this.waiters.shift();
    if (next) next();
    else this.busy = false;
  }
  beginTransaction(c: DatabaseConnection, s: TransactionSettings): Promise<void> {
    return this.inner.beginTransaction(c, s);
  }
  commitTransaction(c: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(c);
  }
  rollbackTransaction(c: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(c);
  }
  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

class FifoSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    return new FifoDriver(super.createDriver());
  }
}

function cachedStatements(raw: Database.Database, max = 256) {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => raw.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (!stmt) {
        stmt = raw.prepare(sql);
        cache.set(sql, stmt);
        if (cache.size > max) cache.delete(cache.keys().next().value!);
      }
      return stmt;
    },
  };
}

const N = Number(process.argv[2] ?? 5000);
const dir = mkdtempSync(join(tmpdir(), 'steward-micro-'));
const file = join(dir, 'steward.db');
const results: { test: string; usPerOp: number }[] = [];
const report = (test: string, ms: number, ops: number) => {
  const usPerOp = Math.round((ms * 1000) / ops);
  results.push({ test, usPerOp });
  console.log(`${String(usPerOp).padStart(7)} µs/op  ${test}`);
};

try {
  const store = await Store.open(file);
  const db = store.db;
  const now = Date.now();
  const nodeId = newId('node');
  const jobId = newId('job');
  const rows: CommandsTable[] = Array.from({ length: N }, () => ({
    id: newId('cmd'), request_id: null, request_hash: null, node_id: nodeId, job_id: jobId, type: 'sys.ping', payload: '{}',
    state: 'pending', timeout_ms: 600_000, ttl_ms: 3_600_000, expires_at: now + 3_600_000, held: 0, created_at: now,
    dispatched_at: null, started_at: null, finished_at: null, deliveries: 0, result: null, error: null,
  }));
  for (let i = 0; i < N; i += 500) await db.insertInto('commands').values(rows.slice(i, i + 500)).execute();
  const ids = rows.map((r) => r.id);
  const reset = () => db.updateTable('commands').set({ state: 'pending', started_at: null }).execute();

  let t = performance.now();
  for (const id of ids) await transitionCommand(db, id, 'running', { started_at: now }, nodeId);
  report(`Kysely transitionCommand, one at a time (${N})`, performance.now() - t, N);

  for (const depth of [100, 1000, N]) {
    await reset();
    t = performance.now();
    for (let i = 0; i < N; i += depth) {
      await Promise.all(ids.slice(i, i + depth).map((id) => transitionCommand(db, id, 'running', { started_at: now }, nodeId)));
    }
    report(`Kysely transitionCommand, ${depth} queued at once`, performance.now() - t, N);
  }
  await store.close();

  for (const variant of ['FIFO lock', 'FIFO lock + statement cache'] as const) {
    const rawDb = new Database(file);
    rawDb.pragma('journal_mode = WAL');
    rawDb.pragma('synchronous = NORMAL');
    const database = variant === 'FIFO lock' ? rawDb : cachedStatements(rawDb);
    const kdb = new Kysely<Schema>({ dialect: new FifoSqliteDialect({ database: database as never }) });
    for (const depth of [1, 1000, N]) {
      await kdb.updateTable('commands').set({ state: 'pending', started_at: null }).execute();
      t = performance.now();
      for (let i = 0; i < N; i += depth) {
        await Promise.all(ids.slice(i, i + depth).map((id) => transitionCommand(kdb, id, 'running', { started_at: now }, nodeId)));
      }
      report(`Kysely + ${variant}, ${depth} queued at once`, performance.now() - t, N);
    }
    await kdb.destroy();
  }

  const raw = new Database(file);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  const sql =
    `update "commands" set "started_at" = ?, "state" = ? where "id" = ? and "state" in (?, ?) and "node_id" = ? returning *`;
  const rawReset = () => raw.prepare(`update commands set state = 'pending', started_at = null`).run();

  rawReset();
  t = performance.now();
  for (const id of ids) raw.prepare(sql).all(now, 'running', id, 'pending', 'dispatched', nodeId);
  report('better-sqlite3, prepare every time (what Kysely does), autocommit', performance.now() - t, N);

  rawReset();
  const stmt = raw.prepare(sql);
  t = performance.now();
  for (const id of ids) stmt.all(now, 'running', id, 'pending', 'dispatched', nodeId);
  report('better-sqlite3, cached statement, autocommit (one WAL commit each)', performance.now() - t, N);

  rawReset();
  t = performance.now();
  const batch = raw.transaction((chunk: string[]) => {
    for (const id of chunk) stmt.all(now, 'running', id, 'pending', 'dispatched', nodeId);
  });
  for (let i = 0; i < N; i += 500) batch(ids.slice(i, i + 500));
  report('better-sqlite3, cached statement, 500 per transaction (group commit)', performance.now() - t, N);

  rawReset();
  const slim = raw.prepare(`update "commands" set "started_at" = ?, "state" = ? where "id" = ? and "state" in (?, ?) and "node_id" = ? returning "id", "state", "job_id"`);
  t = performance.now();
  for (let i = 0; i < N; i += 500) {
    raw.transaction(() => {
      for (const id of ids.slice(i, i + 500)) slim.all(now, 'running', id, 'pending', 'dispatched', nodeId);
    })();
  }
  report('…and returning only id/state/job_id', performance.now() - t, N);
  raw.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
