import { sql, type Kysely } from 'kysely';
import { NODE_STATUSES, NODE_TRANSITIONS, type NodeStatus } from '@steward/protocol';
import type { Database, NodesTable } from '../schema.js';

/** A Steward agent's node unless `protocol` says otherwise. */
export async function insertNode(
  db: Kysely<Database>,
  row: Omit<NodesTable, 'protocol' | 'external_id'> & Partial<Pick<NodesTable, 'protocol' | 'external_id'>>,
): Promise<void> {
  await db.insertInto('nodes').values({ protocol: 'steward', external_id: null, ...row }).execute();
}

/** The node a seed protocol knows by its own id. */
export async function findNodeByExternalId(db: Kysely<Database>, protocol: string, externalId: string): Promise<NodesTable | undefined> {
  return db.selectFrom('nodes').selectAll().where('protocol', '=', protocol).where('external_id', '=', externalId).executeTakeFirst();
}

export async function getNodeRow(db: Kysely<Database>, id: string): Promise<NodesTable | undefined> {
  return db.selectFrom('nodes').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * What authenticating a node's connection needs: its credential hashes and revocation, not the
 * row's inventory and stats (most of its bytes). Every agent handshake reads this.
 */
export async function getNodeCredentials(db: Kysely<Database>, id: string): Promise<Pick<NodesTable, 'id' | 'credential_hash' | 'next_credential_hash' | 'revoked_at'> | undefined> {
  return db.selectFrom('nodes').select(['id', 'credential_hash', 'next_credential_hash', 'revoked_at']).where('id', '=', id).executeTakeFirst();
}

/** Ids win over names, so a node named like another's id cannot shadow it. */
export async function findNodeRow(db: Kysely<Database>, idOrName: string): Promise<NodesTable | undefined> {
  return (
    (await getNodeRow(db, idOrName)) ??
    (await db.selectFrom('nodes').selectAll().where('name', '=', idOrName).executeTakeFirst())
  );
}

export async function listNodeRows(
  db: Kysely<Database>,
  filter: { status?: NodeStatus; limit?: number } = {},
): Promise<NodesTable[]> {
  let q = db.selectFrom('nodes').selectAll().orderBy('name');
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.limit) q = q.limit(filter.limit);
  return q.execute();
}

/** What a job needs to choose its nodes and check its payload: no stats, credentials or times (the bulk of a row). */
export type NodeTargetRow = Pick<NodesTable, 'id' | 'name' | 'labels' | 'inventory' | 'protocol'>;

/** Every node as a job target, by name: a fan-out to 10,000 nodes reads a fraction of their rows. */
export async function listNodeTargets(db: Kysely<Database>): Promise<NodeTargetRow[]> {
  return db.selectFrom('nodes').select(['id', 'name', 'labels', 'inventory', 'protocol']).orderBy('name').execute();
}

/** What a config push needs of each online node: no inventory or stats (the bulk of a row), so a 10,000-node pass stays short. */
export type NodeConfigRef = Pick<NodesTable, 'id' | 'name' | 'labels' | 'protocol' | 'revoked_at'>;

export async function listOnlineNodeRefs(db: Kysely<Database>): Promise<NodeConfigRef[]> {
  return db.selectFrom('nodes').select(['id', 'name', 'labels', 'protocol', 'revoked_at']).where('status', '=', 'online').execute();
}

export async function nodeNameTaken(db: Kysely<Database>, name: string, exceptId?: string): Promise<boolean> {
  let q = db.selectFrom('nodes').select('id').where('name', '=', name);
  if (exceptId) q = q.where('id', '!=', exceptId);
  return (await q.executeTakeFirst()) !== undefined;
}

export async function updateNodeRow(
  db: Kysely<Database>,
  id: string,
  patch: Partial<Omit<NodesTable, 'id'>>,
): Promise<NodesTable | undefined> {
  return db.updateTable('nodes').set(patch).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function deleteNodeRow(db: Kysely<Database>, id: string): Promise<boolean> {
  const res = await db.deleteFrom('nodes').where('id', '=', id).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/**
 * Moves a node to `to` only from a state the transition table allows, and says whether it moved,
 * so concurrent sweeps and reconnects produce one status event each.
 */
export async function transitionNode(
  db: Kysely<Database>,
  id: string,
  to: NodeStatus,
  now: number,
  extra: Partial<Omit<NodesTable, 'id' | 'status'>> = {},
): Promise<NodesTable | undefined> {
  const from = NODE_STATUSES.filter((s) => NODE_TRANSITIONS[s].includes(to));
  return db
    .updateTable('nodes')
    .set({ ...extra, status: to, status_changed_at: now })
    .where('id', '=', id)
    .where('status', 'in', from)
    .returningAll()
    .executeTakeFirst();
}

/** Clears the connection only if it is still the one that closed (a reconnect may have replaced it). */
export async function clearConnection(db: Kysely<Database>, id: string, connectionId: string, now: number): Promise<boolean> {
  const res = await db
    .updateTable('nodes')
    .set({ connection_id: null, last_seen_at: now })
    .where('id', '=', id)
    .where('connection_id', '=', connectionId)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export async function clearAllConnections(db: Kysely<Database>): Promise<void> {
  await db.updateTable('nodes').set({ connection_id: null }).where('connection_id', 'is not', null).execute();
}

/**
 * After a restart of the only control plane: nodes that were online are not connected to this
 * process (yet), so they are `reconnecting` until their hello, or the start-up guard's end.
 */
export async function markOnlineReconnecting(db: Kysely<Database>, now: number): Promise<number> {
  const from = NODE_STATUSES.filter((s) => NODE_TRANSITIONS[s].includes('reconnecting'));
  const res = await db.updateTable('nodes').set({ status: 'reconnecting', status_changed_at: now }).where('status', 'in', from).executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** Nodes still `reconnecting` (not back since the restart): offline once the start-up guard ends. */
export async function findReconnectingNodes(db: Kysely<Database>): Promise<Pick<NodesTable, 'id' | 'name'>[]> {
  return db.selectFrom('nodes').select(['id', 'name']).where('status', '=', 'reconnecting').execute();
}

/**
 * Online nodes silent since `silentBefore` and for three of their own heartbeat intervals (a
 * node told to beat every minute is not lost after 45 s), or disconnected since `disconnectedBefore`.
 */
export async function findLostNodes(
  db: Kysely<Database>,
  silentBefore: number,
  disconnectedBefore: number,
  now: number,
): Promise<Pick<NodesTable, 'id' | 'name' | 'connection_id' | 'last_seen_at'>[]> {
  return db
    .selectFrom('nodes')
    .select(['id', 'name', 'connection_id', 'last_seen_at'])
    .where('status', '=', 'online')
    .where((eb) =>
      eb.or([
        eb.and([eb('last_seen_at', '<', silentBefore), sql<boolean>`last_seen_at + 3 * heartbeat_interval_ms < ${now}`]),
        eb.and([eb('connection_id', 'is', null), eb('last_seen_at', '<', disconnectedBefore)]),
      ]),
    )
    .execute();
}

/** One heartbeat to store: what `recordHeartbeats` takes. */
export interface HeartbeatRow {
  id: string;
  stats: string;
  connectionId: string;
  now: number;
}

/**
 * Many nodes' heartbeats in one statement: every node sends one every few seconds, so at 10,000
 * agents this saves hundreds of round trips a second. Each writes the stats and the connection
 * and moves last seen forward, never backwards: a heartbeat the replica the agent just left
 * stores late must not make the node look silent for longer than it was (task fencing re-places
 * its work from this time). Two heartbeats of one node keep the later. Answers the status of
 * each node that still exists, by id.
 */
export async function recordHeartbeats(db: Kysely<Database>, beats: HeartbeatRow[]): Promise<Map<string, string>> {
  const latest = new Map<string, HeartbeatRow>();
  for (const b of beats) if ((latest.get(b.id)?.now ?? -Infinity) <= b.now) latest.set(b.id, b);
  if (latest.size === 0) return new Map();
  // The CTE's column names differ from the table's, so unqualified names below are the node's.
  const values = sql.join([...latest.values()].map((b) => sql`(${b.id}, ${b.stats}, ${b.connectionId}, cast(${b.now} as bigint))`));
  const { rows } = await sql<{ id: string; status: string }>`
    with beat(beat_id, beat_stats, beat_connection, beat_at) as (values ${values})
    update nodes set
      stats = beat_stats,
      last_seen_at = case when last_seen_at is null or last_seen_at < beat_at then beat_at else last_seen_at end,
      connection_id = beat_connection
    from beat where id = beat_id
    returning id, status`.execute(db);
  return new Map(rows.map((r) => [r.id, r.status]));
}

/** Nodes of one seed protocol, by name, at most `limit` (a device's cluster-status question). */
export async function listNodesOfProtocol(db: Kysely<Database>, protocol: string, limit: number): Promise<Pick<NodesTable, 'name' | 'status' | 'external_id' | 'inventory'>[]> {
  return db.selectFrom('nodes').select(['name', 'status', 'external_id', 'inventory']).where('protocol', '=', protocol).orderBy('name').limit(limit).execute();
}

/** Revokes the node's credential (and any rotation in progress); undefined if unknown or already revoked. */
export async function revokeNodeRow(db: Kysely<Database>, id: string, now: number): Promise<NodesTable | undefined> {
  return db
    .updateTable('nodes')
    .set({ revoked_at: now, next_credential_hash: null })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** Starts a credential rotation: `hash` is accepted beside the current one until confirmed. */
export async function setNextCredential(db: Kysely<Database>, id: string, hash: string): Promise<boolean> {
  const res = await db.updateTable('nodes').set({ next_credential_hash: hash }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** The agent stored the rotated credential: it becomes the only one. False if no such rotation is pending. */
export async function confirmNextCredential(db: Kysely<Database>, id: string, hash: string): Promise<boolean> {
  const res = await db
    .updateTable('nodes')
    .set({ credential_hash: hash, next_credential_hash: null })
    .where('id', '=', id)
    .where('next_credential_hash', '=', hash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}
