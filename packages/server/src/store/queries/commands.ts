import { sql, type Kysely } from 'kysely';
import { commandPredecessors, isTerminalCommandState, type CommandState } from '@steward/protocol';
import type { CommandsTable, Database } from '../schema.js';

/**
 * Bound parameters one statement may carry: SQLite's limit (32,766 since 3.32), which is also
 * under PostgreSQL's 65,535. A multi-row INSERT takes as many rows as fit.
 */
export const MAX_BIND_PARAMS = 32_766;
/** Ids in one `IN (…)` list: far under the bind limit, and a statement that size stays quick. */
const ID_CHUNK = 500;

export const UNFINISHED: CommandState[] = ['pending', 'dispatched', 'running'];
/** A node's work not yet over: also what awaits approval (never delivered, but it still counts against deleting the node). */
const NODE_WORK: CommandState[] = ['awaiting_approval', ...UNFINISHED];

/**
 * Inserts the rows with as few statements as the bind limit allows (one multi-row INSERT per
 * chunk); atomic only inside the caller's transaction. Returns how many statements it took.
 */
export async function insertCommands(db: Kysely<Database>, rows: CommandsTable[]): Promise<number> {
  if (rows.length === 0) return 0;
  const chunk = Math.max(1, Math.floor(MAX_BIND_PARAMS / Object.keys(rows[0]!).length));
  let statements = 0;
  for (let i = 0; i < rows.length; i += chunk) {
    await db.insertInto('commands').values(rows.slice(i, i + chunk)).execute();
    statements++;
  }
  return statements;
}

/** Inserts unless the request id exists; returns the row that holds the request id either way. */
export async function insertCommandOnce(
  db: Kysely<Database>,
  row: CommandsTable,
): Promise<{ row: CommandsTable; created: boolean }> {
  if (row.request_id === null) {
    await db.insertInto('commands').values(row).execute();
    return { row, created: true };
  }
  const inserted = await db
    .insertInto('commands')
    .values(row)
    .onConflict((oc) => oc.column('request_id').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { row: inserted, created: true };
  const existing = await db
    .selectFrom('commands')
    .selectAll()
    .where('request_id', '=', row.request_id)
    .executeTakeFirstOrThrow();
  return { row: existing, created: false };
}

/**
 * Stores a command an agent ran on its own (already ended); nothing when its id or request id
 * is taken. Returns the brief of the row it inserted.
 */
export async function insertReportedCommand(db: Kysely<Database>, row: CommandsTable): Promise<CommandBrief | undefined> {
  return db.insertInto('commands').values(row).onConflict((oc) => oc.doNothing()).returning(BRIEF).executeTakeFirst();
}

export async function getCommandRow(db: Kysely<Database>, id: string): Promise<CommandsTable | undefined> {
  return db.selectFrom('commands').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A node's unfinished command's type and kept-aside secret payload (null when it has none). */
export async function getSecretPayload(db: Kysely<Database>, id: string, nodeId: string): Promise<{ type: string; secret_payload: string | null } | undefined> {
  return db.selectFrom('commands').select(['type', 'secret_payload']).where('id', '=', id).where('node_id', '=', nodeId).executeTakeFirst();
}

export interface CommandFilter {
  nodeId?: string;
  state?: CommandState;
  type?: string;
  jobId?: string;
  limit?: number;
}

export async function listCommandRows(db: Kysely<Database>, f: CommandFilter): Promise<CommandsTable[]> {
  let q = db.selectFrom('commands').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc');
  if (f.nodeId) q = q.where('node_id', '=', f.nodeId);
  if (f.state) q = q.where('state', '=', f.state);
  if (f.type) q = q.where('type', '=', f.type);
  if (f.jobId) q = q.where('job_id', '=', f.jobId);
  return q.limit(f.limit ?? 500).execute();
}

export async function listJobCommandRows(db: Kysely<Database>, jobId: string): Promise<CommandsTable[]> {
  return db.selectFrom('commands').selectAll().where('job_id', '=', jobId).orderBy('created_at').orderBy('id').execute();
}

/**
 * One page of a job's commands in id order, after the command id `after` (keyset paging: ids
 * never change, so a page never repeats or skips a row whatever happens between reads).
 */
export async function listJobCommandPage(db: Kysely<Database>, jobId: string, limit: number, after?: string): Promise<CommandsTable[]> {
  let q = db.selectFrom('commands').selectAll().where('job_id', '=', jobId);
  if (after !== undefined) q = q.where('id', '>', after);
  return q.orderBy('id').limit(limit).execute();
}

type CommandPatch = Partial<Omit<CommandsTable, 'id' | 'state'>>;

/** The conditional update behind every transition, or null when no state leads to `to`. */
function transitionUpdate(db: Kysely<Database>, id: string, to: CommandState, patch: CommandPatch, onlyNodeId?: string) {
  const from = commandPredecessors(to);
  // No state leads to `to` (e.g. back to pending). Also keeps `IN ()` out of the SQL:
  // SQLite accepts it, PostgreSQL rejects it as a syntax error.
  if (from.length === 0) return null;
  let q = db
    .updateTable('commands')
    .set({ ...patch, ...(isTerminalCommandState(to) ? { secret_payload: null } : {}), state: to })
    .where('id', '=', id)
    .where('state', 'in', from);
  // An agent may only move its own commands.
  if (onlyNodeId !== undefined) q = q.where('node_id', '=', onlyNodeId);
  return q;
}

/**
 * The one way a command changes state: a conditional update from the states the transition
 * table allows. Returns undefined when the command was not in such a state (a duplicate or
 * late message), which callers treat as "nothing to do".
 */
export async function transitionCommand(
  db: Kysely<Database>,
  id: string,
  to: CommandState,
  patch: CommandPatch = {},
  onlyNodeId?: string,
): Promise<CommandsTable | undefined> {
  return transitionUpdate(db, id, to, patch, onlyNodeId)?.returningAll().executeTakeFirst();
}

/** What a state event needs; agent-driven transitions return only this (cheaper at fleet scale). */
export type CommandBrief = Pick<CommandsTable, 'id' | 'node_id' | 'job_id' | 'type' | 'state' | 'deliveries'>;
const BRIEF = ['id', 'node_id', 'job_id', 'type', 'state', 'deliveries'] as const;

/**
 * An agent's result for its own command: the terminal transition, keeping the start time it
 * reported (or `now` when that report was lost). With `onlyWithoutSecret`, only a command that
 * keeps no secret payload is ended (undefined otherwise): a result whose text must first be
 * scrubbed of the payload's secrets takes the slower path, the rest need no read beforehand.
 */
export async function finishCommandBrief(
  db: Kysely<Database>,
  id: string,
  to: CommandState,
  end: Pick<CommandPatch, 'result' | 'error'>,
  nodeId: string,
  now: number,
  onlyWithoutSecret = false,
): Promise<CommandBrief | undefined> {
  const started_at = sql<number>`coalesce(started_at, ${now})` as unknown as number;
  let q = transitionUpdate(db, id, to, { ...end, started_at, finished_at: now }, nodeId);
  if (q && onlyWithoutSecret) q = q.where('secret_payload', 'is', null);
  return q?.returning(BRIEF).executeTakeFirst();
}

/** An agent's report that it began its own command (`at`: when the control plane heard it). */
export interface CommandStart {
  id: string;
  nodeId: string;
  at: number;
}

/** An agent's result for its own command; `result` and `error` are JSON text (scrubbed already). */
export interface CommandEnd {
  id: string;
  nodeId: string;
  state: CommandState;
  result: string | null;
  error: string | null;
  at: number;
}

/** Rows of one bulk transition statement: 500 × 5 parameters, far under either store's bind limit. */
const BULK_CHUNK = 500;
const BRIEF_SQL = sql.raw(BRIEF.join(', '));

/**
 * Many agents' starts, one statement per chunk: each command moves to running only when its
 * own node reports it and the transition table allows it (a conditional multi-row update
 * joined to the reported rows). One answer per start, in order: the brief of the row it moved,
 * or undefined (a late or repeated start, another node's command, an unknown id).
 */
export async function startCommands(db: Kysely<Database>, starts: CommandStart[]): Promise<(CommandBrief | undefined)[]> {
  const from = commandPredecessors('running');
  const moved = new Map<string, CommandBrief>();
  for (const chunk of chunks(firstPerCommand(starts), BULK_CHUNK)) {
    const values = sql.join(chunk.map((s) => sql`(${s.id}, ${s.nodeId}, cast(${s.at} as bigint))`));
    const { rows } = await sql<CommandBrief>`
      update commands set state = ${'running'}, started_at = v.column3
      from (values ${values}) as v
      where commands.id = v.column1 and commands.node_id = v.column2 and commands.state in (${sql.join(from)})
      returning ${BRIEF_SQL}`.execute(db);
    for (const r of rows) moved.set(ownKey(r.id, r.node_id), r);
  }
  return answerEach(starts, moved);
}

/**
 * Many agents' results, one statement per end state and chunk: the terminal transition of each
 * node's own command from the states the table allows, keeping the start time it reported (or
 * the result's time when that report was lost). Only commands that keep no secret payload are
 * ended here: a result whose text must first be scrubbed of the payload's secrets is answered
 * undefined, as are repeats, late results, other nodes' commands and unknown ids.
 */
export async function finishCommands(db: Kysely<Database>, ends: CommandEnd[]): Promise<(CommandBrief | undefined)[]> {
  const byState = new Map<CommandState, CommandEnd[]>();
  for (const e of firstPerCommand(ends)) {
    const list = byState.get(e.state);
    if (list) list.push(e);
    else byState.set(e.state, [e]);
  }
  const moved = new Map<string, CommandBrief>();
  for (const [to, list] of byState) {
    const from = commandPredecessors(to);
    if (!isTerminalCommandState(to) || from.length === 0) continue;
    for (const chunk of chunks(list, BULK_CHUNK)) {
      const values = sql.join(chunk.map((e) => sql`(${e.id}, ${e.nodeId}, ${e.result}, ${e.error}, cast(${e.at} as bigint))`));
      const { rows } = await sql<CommandBrief>`
        update commands set state = ${to}, result = v.column3, error = v.column4,
          started_at = coalesce(commands.started_at, v.column5), finished_at = v.column5, secret_payload = null
        from (values ${values}) as v
        where commands.id = v.column1 and commands.node_id = v.column2 and commands.state in (${sql.join(from)})
          and commands.secret_payload is null
        returning ${BRIEF_SQL}`.execute(db);
      for (const r of rows) moved.set(ownKey(r.id, r.node_id), r);
    }
  }
  return answerEach(ends, moved);
}

const ownKey = (id: string, nodeId: string) => `${id} ${nodeId}`;

/** The first report per (command, node): a repeat in the same batch would join the row twice. */
function firstPerCommand<T extends { id: string; nodeId: string }>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter((i) => {
    const k = ownKey(i.id, i.nodeId);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The moved row goes to the first report that moved it; a repeat in the same batch gets undefined. */
function answerEach<T extends { id: string; nodeId: string }>(items: T[], moved: Map<string, CommandBrief>): (CommandBrief | undefined)[] {
  return items.map((i) => {
    const k = ownKey(i.id, i.nodeId);
    const row = moved.get(k);
    moved.delete(k);
    return row;
  });
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Keeps an agent's latest progress report on its own unfinished command; undefined when the
 * command has ended or is not that node's (a late or stray report changes nothing).
 */
export async function recordCommandProgress(db: Kysely<Database>, id: string, nodeId: string, progress: string): Promise<CommandBrief | undefined> {
  return db
    .updateTable('commands')
    .set({ progress })
    .where('id', '=', id)
    .where('node_id', '=', nodeId)
    .where('state', 'in', ['dispatched', 'running'])
    .returning(BRIEF)
    .executeTakeFirst();
}

/** Records a (re)delivery: pending becomes dispatched; running stays running. */
export async function markDelivered(db: Kysely<Database>, ids: string[], now: number): Promise<CommandBrief[]> {
  if (ids.length === 0) return [];
  const out: CommandBrief[] = [];
  for (let i = 0; i < ids.length; i += ID_CHUNK) {
    const rows = await db
      .updateTable('commands')
      .set((eb) => ({
        state: eb.case().when('state', '=', 'pending').then('dispatched').else(eb.ref('state')).end(),
        dispatched_at: eb.fn.coalesce('dispatched_at', eb.val(now)),
        deliveries: eb('deliveries', '+', 1),
      }))
      .where('id', 'in', ids.slice(i, i + ID_CHUNK))
      .where('state', 'in', UNFINISHED)
      .where('held', '=', 0)
      .returning(BRIEF)
      .execute();
    out.push(...rows);
  }
  return out;
}

/** A node's unfinished, unheld commands, oldest first: what its agent should have. */
export async function deliverableForNode(db: Kysely<Database>, nodeId: string): Promise<CommandsTable[]> {
  return deliverableForNodes(db, [nodeId]);
}

/** `deliverableForNode` for many nodes in one query (the heartbeats of one moment), oldest first per node. */
export async function deliverableForNodes(db: Kysely<Database>, nodeIds: string[]): Promise<CommandsTable[]> {
  if (nodeIds.length === 0) return [];
  return db
    .selectFrom('commands')
    .selectAll()
    .where('node_id', 'in', nodeIds)
    .where('state', 'in', UNFINISHED)
    .where('held', '=', 0)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

export async function countUnfinishedForNode(db: Kysely<Database>, nodeId: string): Promise<number> {
  const row = await db
    .selectFrom('commands')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('node_id', '=', nodeId)
    .where('state', 'in', NODE_WORK)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

const errorJson = (code: string, message: string) => JSON.stringify({ code, message });

/** Pending (or delivered but never started) commands past their TTL. */
export async function expireDue(db: Kysely<Database>, now: number): Promise<CommandsTable[]> {
  return db
    .updateTable('commands')
    .set({
      state: 'expired',
      secret_payload: null,
      finished_at: now,
      error: errorJson('expired', 'the node did not take the command before its TTL ran out'),
    })
    .where('state', 'in', ['pending', 'dispatched'])
    .where('held', '=', 0)
    .where('expires_at', '<=', now)
    .returningAll()
    .execute();
}

/**
 * Running commands whose agent never reported an end. The agent enforces the timeout itself;
 * this is the backstop for an agent that vanished mid-run.
 */
export async function timeOutDue(db: Kysely<Database>, now: number, graceMs: number): Promise<CommandsTable[]> {
  return db
    .updateTable('commands')
    .set({
      state: 'timed_out',
      secret_payload: null,
      finished_at: now,
      error: errorJson('timed_out', 'no result arrived within the command timeout'),
    })
    .where('state', '=', 'running')
    .where((eb) => eb(eb('started_at', '+', eb('timeout_ms', '+', graceMs)), '<=', now))
    .returningAll()
    .execute();
}

export async function cancelUnfinishedForNode(
  db: Kysely<Database>,
  nodeId: string,
  now: number,
  code: string,
  message: string,
): Promise<CommandsTable[]> {
  return db
    .updateTable('commands')
    // held: 0 as in cancelHeld: a finished command is no longer waiting for its batch.
    .set({ state: 'cancelled', secret_payload: null, held: 0, finished_at: now, error: errorJson(code, message) })
    .where('node_id', '=', nodeId)
    .where('state', 'in', NODE_WORK)
    .returningAll()
    .execute();
}

/** How commands ended (state, result, error), for the attempts they carry. */
export async function commandEndsByIds(db: Kysely<Database>, ids: string[]): Promise<Pick<CommandsTable, 'id' | 'state' | 'result' | 'error'>[]> {
  const out: Pick<CommandsTable, 'id' | 'state' | 'result' | 'error'>[] = [];
  for (let i = 0; i < ids.length; i += ID_CHUNK) {
    out.push(...(await db.selectFrom('commands').select(['id', 'state', 'result', 'error']).where('id', 'in', ids.slice(i, i + ID_CHUNK)).execute()));
  }
  return out;
}

/** States of those of `ids` that are this node's commands (ids of other nodes or unknown ones are left out). */
export async function commandStatesOnNode(db: Kysely<Database>, nodeId: string, ids: string[]): Promise<Pick<CommandsTable, 'id' | 'state'>[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('commands').select(['id', 'state']).where('id', 'in', ids).where('node_id', '=', nodeId).execute();
}
