import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { CommandResultMessage, DispatchedCommand } from '@steward/protocol';

export interface JournalEntry {
  id: string;
  type: string;
  payload: unknown;
  timeoutMs: number;
  state: 'running' | 'done';
  receivedAt: number;
  result: CommandResultMessage | null;
  acked: boolean;
}

interface Row {
  id: string;
  type: string;
  payload: string;
  timeout_ms: number;
  state: 'running' | 'done';
  received_at: number;
  result: string | null;
  acked: number;
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
  };
}

/** Finished and acknowledged entries are kept this long to answer late repeats, then pruned. */
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
    `);
    this.stmts = {
      get: this.db.prepare<[string], Row>('select * from commands where id = ?'),
      begin: this.db.prepare(
        `insert into commands (id, type, payload, timeout_ms, state, received_at) values (?, ?, ?, ?, 'running', ?)
         on conflict (id) do nothing`,
      ),
      finish: this.db.prepare(`update commands set state = 'done', result = ?, payload = coalesce(?, payload) where id = ? and state = 'running'`),
      ack: this.db.prepare(`update commands set acked = 1 where id = ? and state = 'done'`),
      outbox: this.db.prepare<[number], Row>(`select * from commands where state = 'done' and acked = 0 order by received_at limit ?`),
      interrupted: this.db.prepare<[], Row>(`select * from commands where state = 'running' order by received_at`),
      prune: this.db.prepare(`delete from commands where acked = 1 and received_at < ?`),
    };
  }

  get(id: string): JournalEntry | null {
    const row = this.stmts.get.get(id);
    return row ? fromRow(row) : null;
  }

  /** Records the command as accepted; false if it was already known (a repeated delivery). */
  begin(cmd: DispatchedCommand, now: number): boolean {
    const res = this.stmts.begin.run(cmd.id, cmd.type, JSON.stringify(cmd.payload ?? null), cmd.timeoutMs, now);
    return res.changes === 1;
  }

  /** Stores the result; `shownPayload` replaces a payload that held secrets, which are not kept past the run. */
  finish(result: CommandResultMessage, shownPayload?: unknown): void {
    this.stmts.finish.run(JSON.stringify(result), shownPayload === undefined ? null : JSON.stringify(shownPayload), result.commandId);
  }

  ack(ids: readonly string[]): void {
    const tx = this.db.transaction((list: readonly string[]) => {
      for (const id of list) this.stmts.ack.run(id);
    });
    tx(ids);
  }

  outbox(limit = 1000): CommandResultMessage[] {
    return this.stmts.outbox.all(limit).map((r) => fromRow(r).result!);
  }

  outboxIds(limit = 1000): string[] {
    return this.stmts.outbox.all(limit).map((r) => r.id);
  }

  /** Commands that were running when the previous agent process died. */
  interrupted(): JournalEntry[] {
    return this.stmts.interrupted.all().map(fromRow);
  }

  prune(now: number): number {
    return this.stmts.prune.run(now - KEEP_ACKED_MS).changes;
  }

  close(): void {
    this.db.close();
  }
}
