import SqliteDatabase from 'better-sqlite3';
import { Migrator } from 'kysely';
import { connect, isPostgresUrl } from './connect.js';
import { migrationProvider } from './migrations/index.js';

/**
 * A consistent copy of a live SQLite store through SQLite's online backup API: it reads pages
 * under SQLite's own locking (WAL lets the serving control plane keep writing meanwhile) and
 * restarts a pass a concurrent write invalidated, so the copy is one committed state.
 */
export async function sqliteSnapshot(source: string, dest: string): Promise<void> {
  const db = new SqliteDatabase(source, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    await db.backup(dest);
  } finally {
    db.close();
  }
}

/** The last schema migration applied to a store (SQLite path or `postgres://…`), or null for an empty one. */
export async function schemaLevel(target: string): Promise<string | null> {
  const { db } = connect(target);
  try {
    const applied = (await new Migrator({ db, provider: migrationProvider }).getMigrations()).filter((m) => m.executedAt);
    return applied.at(-1)?.name ?? null;
  } finally {
    await db.destroy();
  }
}

/** How many tables a PostgreSQL database has (0: empty, a restore may go there without --force). */
export async function postgresTableCount(url: string): Promise<number> {
  if (!isPostgresUrl(url)) throw new Error('not a postgres:// URL');
  const { db } = connect(url);
  try {
    return (await db.introspection.getTables({ withInternalKyselyTables: true })).length;
  } finally {
    await db.destroy();
  }
}
