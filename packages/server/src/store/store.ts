import type { Kysely } from 'kysely';
import { clearAllConnections, markOnlineReconnecting } from './queries/nodes.js';
import { connect, migrateToLatest, type DialectName, type QueryTiming } from './connect.js';
import type { Database } from './schema.js';
import { WriteBatcher, type BulkWrite } from './write-batcher.js';

/**
 * The control plane's one store: SQLite or PostgreSQL behind Kysely. Reads and writes are the
 * small functions in `queries/`; a state change that touches several rows runs them inside
 * `tx`, so it is one transaction.
 */
export class Store {
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;
  private readonly batcher: WriteBatcher;

  private constructor(
    db: Kysely<Database>,
    dialect: DialectName,
    private readonly queryObservers: Set<(t: QueryTiming) => void>,
  ) {
    this.db = db;
    this.dialect = dialect;
    this.batcher = new WriteBatcher(db);
  }

  /** Every statement's timing (for /metrics); returns a function that stops observing. */
  onQuery(observer: (t: QueryTiming) => void): () => void {
    this.queryObservers.add(observer);
    return () => this.queryObservers.delete(observer);
  }

  /** Opens and migrates. `target` is a SQLite path, `:memory:` or a `postgres://` URL. */
  static async open(target: string): Promise<Store> {
    const observers = new Set<(t: QueryTiming) => void>();
    const { db, dialect } = connect(target, (t) => {
      for (const observe of observers) observe(t);
    });
    try {
      await migrateToLatest(db);
    } catch (e) {
      await db.destroy();
      throw e;
    }
    const store = new Store(db, dialect, observers);
    // One SQLite file has one control plane, so connections recorded by a previous process are gone.
    if (dialect === 'sqlite') {
      await clearAllConnections(db);
      await markOnlineReconnecting(db, Date.now());
    }
    return store;
  }

  tx<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }

  /**
   * A small write that may share a transaction with others of the same moment (group commit).
   * It settles after the commit. For hot paths: agent results, starts, heartbeats, deliveries.
   */
  batch<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.batcher.run(fn);
  }

  /**
   * One item of a bulk write (e.g. an agent's result): the items of the same moment share a
   * transaction, as `batch`, and one multi-row statement. It settles after the commit.
   */
  bulk<I, R>(op: BulkWrite<I, R>, item: I): Promise<R> {
    return this.batcher.bulk(op, item);
  }

  async ping(): Promise<void> {
    await this.db.selectFrom('meta').select('key').limit(1).execute();
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
