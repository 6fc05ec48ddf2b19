import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SIGNATURE_CLOCK_SKEW_MS, type CommandReportedMessage, type CommandResultMessage, type DispatchedCommand, type OutputChunk } from '@steward/protocol';

export interface JournalEntry {
  id: string;
  type: string;
  payload: unknown;
  timeoutMs: number;
  state: 'running' | 'done';
  receivedAt: number;
  result: CommandResultMessage | null;
  acked: boolean;
  /** Who asked: the control plane, or a caller of the agent's inbound API. */
  origin: CommandOrigin;
  /** The inbound caller's request_id (its idempotency key); null for control-plane commands. */
  requestId: string | null;
  /** Digest of the inbound request's type and payload, to tell a retry from a reuse of its id. */
  requestHash: string | null;
  /** When the signature the command was accepted under was made (null: unsigned origin). */
  issuedAt: number | null;
  /** Until when the id is kept (the signature's expiry); null: the fixed keep time. */
  expiresAt: number | null;
}

export type CommandOrigin = 'control' | 'inbound';

/** A stored result as it travels: control-plane commands as results, inbound ones as reports. */
export type OutgoingResult = CommandResultMessage | CommandReportedMessage;

interface Row {
  id: string;
  type: string;
  payload: string;
  timeout_ms: number;
  state: 'running' | 'done';
  received_at: number;
  result: string | null;
  acked: number;
  origin: CommandOrigin;
  request_id: string | null;
  request_hash: string | null;
  issued_at: number | null;
  expires_at: number | null;
}

function fromRow(r: Row): JournalEntry {
  return {
    id: r.id,
    type: r.type,
    payload: JSON.parse(r.payload),
    timeoutMs: r.timeout_ms,
    state: r.state,
    receivedAt: r.received_at,
    result: r.result ? (JSON.parse(r.result) as CommandResultMessage) : null,
    acked: r.acked === 1,
    origin: r.origin,
    requestId: r.request_id,
    requestHash: r.request_hash,
    issuedAt: r.issued_at ?? null,
    expiresAt: r.expires_at ?? null,
  };
}

/** Columns added after the first release; an older journal gets them on open. */
const ADDED_COLUMNS: Record<string, string> = {
  origin: `text not null default 'control'`,
  request_id: 'text',
  request_hash: 'text',
  // A signed command's validity: its id is kept until then (a replay after that is refused as expired).
  issued_at: 'integer',
  expires_at: 'integer',
  // The next output chunk seq of the command, so a re-run after a crash continues the numbering.
  output_seq: 'integer not null default 0',
};

/** A journaled output chunk not yet acknowledged, with its command. */
export interface PendingOutput extends OutputChunk {
  commandId: string;
}

function outgoing(entry: JournalEntry, result: CommandResultMessage): OutgoingResult {
  if (entry.origin !== 'inbound' || entry.requestId === null) return result;
  const { type: _, commandId, ...ended } = result;
  return {
    type: 'command.reported',
    commandId,
    command: { type: entry.type, payload: entry.payload, timeoutMs: entry.timeoutMs, receivedAt: entry.receivedAt, via: 'inbound', requestId: entry.requestId },
    ...ended,
  };
}

/**
 * Finished and acknowledged entries without a signed expiry (inbound API commands, entries
 * from before signing) are kept this long to answer late repeats, then pruned. Signed ones are
 * kept until their expiry (plus the clock-skew allowance), never less: pruning then cannot
 * reopen a replay window, since a replay of a pruned id is refused as expired.
 */
const KEEP_ACKED_MS = 7 * 86_400_000;

/**
 * The agent's local record of every command it accepted. An id is written before the command
 * runs, so a repeated delivery is recognised; a result is written before it is sent and stays
 * (the outbox) until the control plane acknowledges it.
 */
export class Journal {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.db = new Database(join(dataDir, 'journal.db'));
    this.db.pragma('journal_mode = WAL');
    // NORMAL with WAL: a committed row survives the agent being killed (the OS still has it).
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      create table if not exists commands (
        id text primary key,
        type text not null,
        payload text not null,
        timeout_ms integer not null,
        state text not null,
        received_at integer not null,
        result text,
        acked integer not null default 0
      );
      create index if not exists commands_outbox on commands (state, acked);
      create table if not exists output_outbox (
        command_id text not null,
        seq integer not null,
        stream text not null,
        data text not null,
        at integer not null,
        primary key (command_id, seq)
      );
    `);
    const have = new Set(this.db.prepare<[], { name: string }>('pragma table_info(commands)').all().map((c) => c.name));
    for (const [name, decl] of Object.entries(ADDED_COLUMNS)) if (!have.has(name)) this.db.exec(`alter table commands add column ${name} ${decl}`);
    this.db.exec('create unique index if not exists commands_request_id on commands (request_id)');
    this.stmts = {
      get: this.db.prepare<[string], Row>('select * from commands where id = ?'),
      byRequest: this.db.prepare<[string], Row>('select * from commands where request_id = ?'),
      beginInbound: this.db.prepare(
        `insert into commands (id, type, payload, timeout_ms, state, received_at, origin, request_id, request_hash)
         values (?, ?, ?, ?, 'running', ?, 'inbound', ?, ?) on conflict do nothing`,
      ),
      begin: this.db.prepare(
        `insert into commands (id, type, payload, timeout_ms, state, received_at, issued_at, expires_at) values (?, ?, ?, ?, 'running', ?, ?, ?)
         on conflict (id) do nothing`,
      ),
      finish: this.db.prepare(`update commands set state = 'done', result = ?, payload = coalesce(?, payload) where id = ? and state = 'running'`),
      ack: this.db.prepare(`update commands set acked = 1 where id = ? and state = 'done'`),
      outbox: this.db.prepare<[number], Row>(`select * from commands where state = 'done' and acked = 0 order by received_at limit ?`),
      outboxIds: this.db.prepare<[number], Pick<Row, 'id'>>(
        `select id from commands where state = 'done' and acked = 0 and origin = 'control' order by received_at limit ?`,
      ),
      receivedBetween: this.db.prepare<[number, number], Pick<Row, 'id'>>(
        `select id from commands where origin = 'control' and received_at between ? and ? order by received_at limit 1000`,
      ),
      interrupted: this.db.prepare<[], Row>(`select * from commands where state = 'running' order by received_at`),
      outputSeq: this.db.prepare<[string], { output_seq: number }>('select output_seq from commands where id = ?'),
      addOutput: this.db.prepare('insert or ignore into output_outbox (command_id, seq, stream, data, at) values (?, ?, ?, ?, ?)'),
      setOutputSeq: this.db.prepare('update commands set output_seq = ? where id = ?'),
      ackOutput: this.db.prepare('delete from output_outbox where command_id = ? and seq <= ?'),
      dropOutput: this.db.prepare('delete from output_outbox where command_id = ?'),
      pendingOutput: this.db.prepare<[number, number], { pos: number; command_id: string; seq: number; stream: string; data: string; at: number }>(
        'select rowid as pos, * from output_outbox where rowid > ? order by rowid limit ?',
      ),
      prune: this.db.prepare<[number, number]>(
        `delete from commands where acked = 1 and (case when expires_at is null then received_at < ? else expires_at < ? end)`,
      ),
    };
  }

  get(id: string): JournalEntry | null {
    const row = this.stmts.get.get(id);
    return row ? fromRow(row) : null;
  }

  /** Records the command as accepted; false if it was already known (a repeated delivery). */
  begin(cmd: DispatchedCommand, now: number, signed?: { issuedAt: number; expiresAt: number }): boolean {
    const res = this.stmts.begin.run(cmd.id, cmd.type, JSON.stringify(cmd.payload ?? null), cmd.timeoutMs, now, signed?.issuedAt ?? null, signed?.expiresAt ?? null);
    return res.changes === 1;
  }

  /** The entry an inbound request_id made, if any. */
  byRequestId(requestId: string): JournalEntry | null {
    const row = this.stmts.byRequest.get(requestId);
    return row ? fromRow(row) : null;
  }

  /** Records an inbound request's command; false if its id or request_id was already known. */
  beginInbound(cmd: DispatchedCommand, requestId: string, requestHash: string, now: number): boolean {
    const res = this.stmts.beginInbound.run(cmd.id, cmd.type, JSON.stringify(cmd.payload ?? null), cmd.timeoutMs, now, requestId, requestHash);
    return res.changes === 1;
  }

  /** Stores the result; `shownPayload` replaces a payload that held secrets, which are not kept past the run. */
  finish(result: CommandResultMessage, shownPayload?: unknown): void {
    this.stmts.finish.run(JSON.stringify(result), shownPayload === undefined ? null : JSON.stringify(shownPayload), result.commandId);
  }

  /**
   * The control plane stored these results. It stores a command's output before its result
   * (they travel in that order on one link), so whatever output of theirs is left goes too.
   */
  ack(ids: readonly string[]): void {
    const tx = this.db.transaction((list: readonly string[]) => {
      for (const id of list) {
        this.stmts.ack.run(id);
        this.stmts.dropOutput.run(id);
      }
    });
    tx(ids);
  }

  /** The seq the command's next output chunk gets (0 for a new command; more for a re-run). */
  outputSeq(commandId: string): number {
    return this.stmts.outputSeq.get(commandId)?.output_seq ?? 0;
  }

  /** Journals output chunks (before they are sent) and the command's next seq, in one transaction. */
  appendOutput(commandId: string, chunks: readonly OutputChunk[]): void {
    if (chunks.length === 0) return;
    this.db.transaction(() => {
      for (const c of chunks) this.stmts.addOutput.run(commandId, c.seq, c.stream, c.data, c.at);
      this.stmts.setOutputSeq.run(chunks[chunks.length - 1]!.seq + 1, commandId);
    })();
  }

  /** The control plane stored (or dropped past its cap) the command's chunks up to `upTo`. */
  ackOutput(commandId: string, upTo: number): void {
    this.stmts.ackOutput.run(commandId, upTo);
  }

  /** Journaled output not acknowledged yet, in the order it was written, a page at a time. */
  *pendingOutput(pageSize = 1000): Generator<PendingOutput> {
    for (let pos = 0; ; ) {
      const rows = this.stmts.pendingOutput.all(pos, pageSize);
      for (const r of rows) yield { commandId: r.command_id, seq: r.seq, stream: r.stream as OutputChunk['stream'], data: r.data, at: r.at };
      if (rows.length < pageSize) return;
      pos = rows[rows.length - 1]!.pos;
    }
  }

  /** Results not yet acknowledged, in the form each is sent. */
  outbox(limit = 1000): OutgoingResult[] {
    return this.stmts.outbox.all(limit).map(fromRow).map((e) => outgoing(e, e.result!));
  }

  /**
   * The outbox as hello and heartbeat list it: control-plane commands only. The control plane
   * acknowledges ids it does not know, and an inbound command is unknown to it until its
   * report is stored, so listing one could lose its report.
   */
  outboxIds(limit = 1000): string[] {
    return this.stmts.outboxIds.all(limit).map((r) => r.id);
  }

  /** How a just-stored result goes out: as it is, or as a report of an inbound command. */
  outgoing(result: CommandResultMessage): OutgoingResult {
    const entry = this.get(result.commandId);
    return entry ? outgoing(entry, result) : result;
  }

  /** Commands that were running when the previous agent process died. */
  interrupted(): JournalEntry[] {
    return this.stmts.interrupted.all().map(fromRow);
  }

  /** Control-plane commands received in a time window (what a control plane restored from an older backup asks for). */
  receivedBetween(from: number, to: number): string[] {
    return this.stmts.receivedBetween.all(from, to).map((r) => r.id);
  }

  prune(now: number): number {
    return this.stmts.prune.run(now - KEEP_ACKED_MS, now - SIGNATURE_CLOCK_SKEW_MS).changes;
  }

  close(): void {
    this.db.close();
  }
}
