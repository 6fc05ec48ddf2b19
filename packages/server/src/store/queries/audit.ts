import { sql, type Kysely } from 'kysely';
import type { DialectName } from '../connect.js';
import type { AuditLogTable, Database } from '../schema.js';

/** Any constant works: it names the one lock every replica takes to append to the chain. */
const AUDIT_CHAIN_LOCK = 0x5374_6175;

/**
 * Serialises appends to the chain until the transaction ends. PostgreSQL: a transaction-scoped
 * advisory lock shared by every replica. SQLite: one connection runs one transaction at a time.
 */
export async function lockAuditChain(db: Kysely<Database>, dialect: DialectName): Promise<void> {
  if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`.execute(db);
}

export async function lastAuditLink(db: Kysely<Database>): Promise<Pick<AuditLogTable, 'id' | 'hash'> | undefined> {
  return db.selectFrom('audit_log').select(['id', 'hash']).orderBy('id', 'desc').limit(1).executeTakeFirst();
}

export async function insertAuditRows(db: Kysely<Database>, rows: AuditLogTable[]): Promise<void> {
  if (rows.length) await db.insertInto('audit_log').values(rows).execute();
}

export interface AuditFilter {
  since?: number;
  /** Token id or name. */
  actor?: string;
  /** Exact action, or a prefix when it ends in `.`. */
  action?: string;
  target?: string;
  before?: number;
  limit?: number;
}

/** Newest first. */
export async function listAuditRows(db: Kysely<Database>, f: AuditFilter): Promise<AuditLogTable[]> {
  let q = db.selectFrom('audit_log').selectAll().orderBy('id', 'desc');
  if (f.since !== undefined) q = q.where('at', '>=', f.since);
  if (f.actor) q = q.where((eb) => eb.or([eb('actor_id', '=', f.actor!), eb('actor_name', '=', f.actor!)]));
  if (f.action) q = f.action.endsWith('.') ? q.where(sql<boolean>`action like ${`${likeEscape(f.action)}%`} escape '!'`) : q.where('action', '=', f.action);
  if (f.target) q = q.where(sql<boolean>`target like ${`%${likeEscape(f.target)}%`} escape '!'`);
  if (f.before !== undefined) q = q.where('id', '<', f.before);
  return q.limit(f.limit ?? 500).execute();
}

/** `%` and `_` are LIKE's wildcards, and ids hold `_`: matched literally (escaped with `!`). */
function likeEscape(s: string): string {
  return s.replace(/[!%_]/g, (c) => `!${c}`);
}

/** The chain in order, one page at a time (for verify). */
export async function auditChainPage(db: Kysely<Database>, afterId: number, limit: number): Promise<AuditLogTable[]> {
  return db.selectFrom('audit_log').selectAll().where('id', '>', afterId).orderBy('id').limit(limit).execute();
}
