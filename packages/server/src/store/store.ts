import type { Kysely } from 'kysely';
import { clearAllConnections } from './queries/nodes.js';
import { connect, migrateToLatest, type DialectName } from './connect.js';
import type { Database } from './schema.js';

/**
 * The control plane's one store: SQLite or PostgreSQL behind Kysely. Reads and writes are the
 * small functions in `queries/`; a state change that touches several rows runs them inside
 * `tx`, so it is one transaction.
 */
export class Store {
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;

  private constructor(db: Kysely<Database>, dialect: DialectName) {
    this.db = db;
    this.dialect = dialect;
  }

  /** Opens and migrates. `target` is a SQLite path, `:memory:` or a `postgres://` URL. */
  static async open(target: string): Promise<Store> {
    const { db, dialect } = connect(target);
    try {
      await migrateToLatest(db);
    } catch (e) {
      await db.destroy();
      throw e;
    }
    const store = new Store(db, dialect);
    // One SQLite file has one control plane, so connections recorded by a previous process are gone.
    if (dialect === 'sqlite') await clearAllConnections(db);
    return store;
  }

  tx<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }

  async ping(): Promise<void> {
    await this.db.selectFrom('meta').select('key').limit(1).execute();
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
