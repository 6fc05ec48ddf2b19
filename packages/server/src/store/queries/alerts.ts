import { sql, type Kysely } from 'kysely';
import { alertPredecessors, type AlertState } from '@steward/protocol';
import type { AlertsTable, Database } from '../schema.js';

/** What firing a key writes; the id and times are the caller's so tests and replicas agree. */
export type AlertFire = Pick<AlertsTable, 'id' | 'key' | 'source' | 'node_id' | 'severity' | 'summary' | 'details'>;

export interface FireOutcome {
  row: AlertsTable;
  /** True when this call opened the alert; false when it updated (or found) the open one. */
  created: boolean;
}

function openRow(a: AlertFire, now: number): AlertsTable {
  return {
    ...a,
    state: 'firing',
    count: 1,
    first_fired_at: now,
    last_fired_at: now,
    resolved_at: null,
    resolve_summary: null,
    acked_at: null,
    acked_by: null,
  };
}

/**
 * Fires a key: updates the open alert (count + 1, last fired, new summary/details) or opens a
 * new one. The unique index on open keys decides a race between two firers: the loser's insert
 * does nothing and it updates the winner's row instead.
 */
export async function fireAlert(db: Kysely<Database>, a: AlertFire, now: number): Promise<FireOutcome> {
  for (let i = 0; i < 3; i++) {
    const updated = await db
      .updateTable('alerts')
      .set((eb) => ({ count: eb('count', '+', 1), last_fired_at: now, summary: a.summary, severity: a.severity, details: a.details }))
      .where('key', '=', a.key)
      .where('state', '=', 'firing')
      .returningAll()
      .executeTakeFirst();
    if (updated) return { row: updated, created: false };
    const inserted = await db
      .insertInto('alerts')
      .values(openRow(a, now))
      .onConflict((oc) => oc.doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) return { row: inserted, created: true };
  }
  throw new Error(`alert ${a.key} neither updated nor inserted after 3 tries`);
}

/**
 * Opens the key's alert unless it is already open, which it leaves alone: for state that is
 * reported again and again (a monitor that is still firing, a node still offline), where a
 * repeat is not a new occurrence.
 */
export async function ensureAlert(db: Kysely<Database>, a: AlertFire, now: number): Promise<FireOutcome> {
  for (let i = 0; i < 3; i++) {
    const open = await getOpenAlert(db, a.key);
    if (open) return { row: open, created: false };
    const inserted = await db
      .insertInto('alerts')
      .values(openRow(a, now))
      .onConflict((oc) => oc.doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) return { row: inserted, created: true };
  }
  throw new Error(`alert ${a.key} neither found nor inserted after 3 tries`);
}

export async function getOpenAlert(db: Kysely<Database>, key: string): Promise<AlertsTable | undefined> {
  return db.selectFrom('alerts').selectAll().where('key', '=', key).where('state', '=', 'firing').executeTakeFirst();
}

/** Closes the key's open alert; undefined when none was open (a repeat resolve is harmless). */
export async function resolveAlert(db: Kysely<Database>, key: string, now: number, summary: string | null): Promise<AlertsTable | undefined> {
  const to: AlertState = 'resolved';
  return db
    .updateTable('alerts')
    .set({ state: to, resolved_at: now, resolve_summary: summary })
    .where('key', '=', key)
    .where('state', 'in', alertPredecessors(to))
    .returningAll()
    .executeTakeFirst();
}

/**
 * Records who acknowledged an alert. The first acknowledgement stands: acking again changes
 * nothing (`changed: false`). Undefined when the id does not exist.
 */
export async function ackAlert(
  db: Kysely<Database>,
  id: string,
  by: string,
  now: number,
): Promise<{ row: AlertsTable; changed: boolean } | undefined> {
  const row = await db
    .updateTable('alerts')
    .set({ acked_at: now, acked_by: by })
    .where('id', '=', id)
    .where('acked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (row) return { row, changed: true };
  const existing = await getAlert(db, id);
  return existing && { row: existing, changed: false };
}

export async function getAlert(db: Kysely<Database>, id: string): Promise<AlertsTable | undefined> {
  return db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface AlertFilter {
  state?: AlertState;
  nodeId?: string;
  acked?: boolean;
  source?: string;
  limit?: number;
}

export async function listAlerts(db: Kysely<Database>, f: AlertFilter): Promise<AlertsTable[]> {
  let q = db.selectFrom('alerts').selectAll().orderBy('last_fired_at', 'desc').orderBy('id', 'desc');
  if (f.state) q = q.where('state', '=', f.state);
  if (f.nodeId) q = q.where('node_id', '=', f.nodeId);
  if (f.source) q = q.where('source', '=', f.source);
  if (f.acked !== undefined) q = q.where('acked_at', f.acked ? 'is not' : 'is', null);
  return q.limit(f.limit ?? 500).execute();
}

/** Open alerts of one source, optionally one node's: what a reconcile compares with reported state. */
export async function listOpenAlerts(db: Kysely<Database>, source: string, nodeId?: string): Promise<AlertsTable[]> {
  let q = db.selectFrom('alerts').selectAll().where('state', '=', 'firing').where('source', '=', source);
  if (nodeId !== undefined) q = q.where('node_id', '=', nodeId);
  return q.execute();
}

/**
 * Nodes offline since before `before` whose offline alert (`node:<id>:offline`) is not open yet:
 * those whose alert is due. Nodes already alerted are left out, so a sweep stays cheap however
 * many nodes have been gone for long.
 */
export async function nodesOfflineSince(db: Kysely<Database>, before: number): Promise<{ id: string; name: string; status_changed_at: number }[]> {
  return db
    .selectFrom('nodes')
    .select(['id', 'name', 'status_changed_at'])
    .where('status', '=', 'offline')
    .where('status_changed_at', '<=', before)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('alerts')
            .select(sql<number>`1`.as('one'))
            .where('state', '=', 'firing')
            .whereRef('key', '=', sql<string>`'node:' || nodes.id || ':offline'`),
        ),
      ),
    )
    .execute();
}

/** Current status of the given nodes; a deleted node is missing from the answer. */
export async function nodeStatuses(db: Kysely<Database>, ids: string[]): Promise<Map<string, { name: string; status: string }>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('nodes').select(['id', 'name', 'status']).where('id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.id, { name: r.name, status: r.status }]));
}

/** Open alerts by severity (for the metrics scrape). */
export async function countFiringAlertsBySeverity(db: Kysely<Database>): Promise<{ severity: string; n: number }[]> {
  const rows = await db
    .selectFrom('alerts')
    .select(['severity', (eb) => eb.fn.countAll<number>().as('n')])
    .where('state', '=', 'firing')
    .groupBy('severity')
    .execute();
  return rows.map((r) => ({ severity: r.severity, n: Number(r.n) }));
}

/** Open alerts of one source and node (the per-node cap on monitor alerts). */
export async function countOpenAlertsOfNode(db: Kysely<Database>, source: string, nodeId: string): Promise<number> {
  const row = await db
    .selectFrom('alerts')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('state', '=', 'firing')
    .where('source', '=', source)
    .where('node_id', '=', nodeId)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
