import { Readable } from 'node:stream';
import { NotFoundError, type SessionListQuery, type SessionRecording } from '@steward/protocol';
import type { ArtifactService } from '../artifacts/service.js';
import type { Requester } from '../commands/approval-policies.js';
import type { Context } from '../core/context.js';
import { getCommandRow, type CommandBrief } from '../store/queries/commands.js';
import {
  claimSessionRecording,
  countRecordingsUsingArtifact,
  dropSessionRecording,
  expiredSessionRecordings,
  finishSessionRecording,
  getSessionRecording,
  insertSessionOnce,
  listSessionRecordings,
  unrecordedSessionCommands,
} from '../store/queries/session-recordings.js';
import type { CommandsTable, SessionRecordingsTable } from '../store/schema.js';
import { AsciicastWriter, type OutputChunk } from './asciicast.js';

export const SESSION_TYPE = 'shell.session';
/** A claim this old is a replica that died while writing; another may take it over. */
const CLAIM_STALE_MS = 5 * 60_000;
/** Output chunks read per query while a recording is written. */
const PAGE = 1000;

/** Reads a command's stored output chunks with seq greater than `after`, in seq order. */
export type OutputReader = (commandId: string, after: number, limit: number) => Promise<OutputChunk[]>;

export function recordingFromRow(r: SessionRecordingsTable): SessionRecording {
  const endedAt = r.ended_at ?? r.started_at;
  return {
    id: r.command_id,
    nodeId: r.node_id,
    openedBy: r.opened_by ? { tokenId: r.opened_by, name: r.opened_by_name ?? r.opened_by } : null,
    startedAt: r.started_at,
    endedAt,
    durationMs: Math.max(0, endedAt - r.started_at),
    exitCode: r.exit_code,
    state: r.end_state ?? 'running',
    bytes: r.bytes,
    sha256: r.artifact_sha256 ?? '',
    createdAt: r.created_at,
  };
}

function parse(text: string | null): Record<string, unknown> {
  try {
    const v: unknown = text ? JSON.parse(text) : null;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Terminal sessions' recordings: written once when a session ends, listed, replayed, expired. */
export class RecordingService {
  constructor(
    private readonly ctx: Context,
    private readonly artifacts: ArtifactService,
    private readonly readOutput: OutputReader,
    /** Ms a recording is kept after its session ended; null keeps it forever. */
    readonly retentionMs: number | null,
  ) {}

  /** A new `shell.session` was stored: note who opened it (known only now). */
  onSubmitted(row: CommandsTable, requester: Requester | undefined): void {
    if (row.type !== SESSION_TYPE) return;
    void insertSessionOnce(this.ctx.store.db, this.openRow(row, requester ?? null)).catch((err) =>
      this.ctx.log.warn({ err, commandId: row.id }, 'could not note who opened a session'),
    );
  }

  /** Called for every command that ends; records ended sessions. */
  onCommandEnded(brief: CommandBrief): void {
    if (brief.type !== SESSION_TYPE) return;
    void this.record(brief.id).catch((err) => this.ctx.log.error({ err, commandId: brief.id }, 'could not record a session'));
  }

  private openRow(cmd: CommandsTable, requester: Requester | null): SessionRecordingsTable {
    return {
      command_id: cmd.id,
      node_id: cmd.node_id,
      opened_by: requester?.tokenId ?? null,
      opened_by_name: requester?.name ?? null,
      started_at: cmd.started_at ?? cmd.created_at,
      ended_at: null,
      end_state: null,
      exit_code: null,
      bytes: 0,
      artifact_sha256: null,
      claimed_at: null,
      created_at: this.ctx.now(),
    };
  }

  /**
   * Writes the recording of an ended session, once across replicas: the row is claimed first,
   * so only one replica reads the output and stores the file. Returns whether this call wrote it.
   */
  async record(commandId: string): Promise<boolean> {
    const db = this.ctx.store.db;
    const cmd = await getCommandRow(db, commandId);
    if (!cmd || cmd.type !== SESSION_TYPE || cmd.finished_at === null) return false;
    await insertSessionOnce(db, this.openRow(cmd, null));
    const now = this.ctx.now();
    if (!(await claimSessionRecording(db, cmd.id, now, now - CLAIM_STALE_MS))) return false;
    const result = parse(cmd.result);
    const end = {
      started_at: cmd.started_at ?? cmd.created_at,
      ended_at: cmd.finished_at,
      end_state: cmd.state,
      exit_code: typeof result.exitCode === 'number' ? result.exitCode : null,
    };
    // Never ran (rejected, expired, cancelled before delivery): nothing to replay.
    if (cmd.started_at === null && cmd.dispatched_at === null) {
      return finishSessionRecording(db, cmd.id, { ...end, bytes: 0, artifact_sha256: null });
    }
    const cast = await this.cast(cmd);
    const { artifact } = await this.artifacts.put(Readable.from([cast]), { name: `session-${cmd.id}.cast`, createdBy: 'sessions' });
    return finishSessionRecording(db, cmd.id, { ...end, bytes: artifact.size, artifact_sha256: artifact.sha256 });
  }

  /** The asciicast of a session from its stored output. */
  private async cast(cmd: CommandsTable): Promise<Buffer> {
    const payload = parse(cmd.payload);
    const num = (v: unknown, d: number) => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : d);
    const command = Array.isArray(payload.command) && payload.command.every((a) => typeof a === 'string') ? (payload.command as string[]) : undefined;
    const w = new AsciicastWriter({
      cols: num(payload.cols, 80),
      rows: num(payload.rows, 24),
      term: typeof payload.term === 'string' ? payload.term : 'xterm-256color',
      ...(command ? { command } : {}),
      title: `session ${cmd.id}`,
      startedAt: cmd.started_at ?? cmd.dispatched_at,
    });
    for (let after = -1; ; ) {
      const page = await this.readOutput(cmd.id, after, PAGE);
      for (const c of page) w.add(c);
      if (page.length < PAGE) break;
      after = page.at(-1)!.seq;
    }
    return Buffer.from(w.finish(), 'utf8');
  }

  /** Records sessions whose end a crash (or another replica's) kept from being recorded. */
  async reconcile(): Promise<void> {
    const now = this.ctx.now();
    for (const cmd of await unrecordedSessionCommands(this.ctx.store.db, now - CLAIM_STALE_MS)) {
      await this.record(cmd.id).catch((err) => this.ctx.log.warn({ err, commandId: cmd.id }, 'could not record a session'));
    }
  }

  async list(q: SessionListQuery, nodeId?: string): Promise<SessionRecording[]> {
    return (await listSessionRecordings(this.ctx.store.db, { nodeId, before: q.before, limit: q.limit })).map(recordingFromRow);
  }

  async row(id: string): Promise<SessionRecordingsTable & { artifact_sha256: string }> {
    const row = await getSessionRecording(this.ctx.store.db, id);
    if (!row?.artifact_sha256) throw new NotFoundError('session recording', id);
    return row as SessionRecordingsTable & { artifact_sha256: string };
  }

  async get(id: string): Promise<SessionRecording> {
    return recordingFromRow(await this.row(id));
  }

  /** The .cast file's bytes. */
  async open(id: string): Promise<{ size: number; stream: Readable }> {
    const row = await this.row(id);
    const { artifact, stream } = await this.artifacts.open(row.artifact_sha256);
    return { size: artifact.size, stream };
  }

  /** Deletes a recording and its file (unless another recording has identical bytes). */
  async remove(id: string): Promise<void> {
    const row = await this.row(id);
    await this.drop(row);
  }

  private async drop(row: SessionRecordingsTable & { artifact_sha256: string }): Promise<boolean> {
    const db = this.ctx.store.db;
    if (!(await dropSessionRecording(db, row.command_id, row.artifact_sha256))) return false;
    if ((await countRecordingsUsingArtifact(db, row.artifact_sha256)) === 0) {
      await this.artifacts.remove(row.artifact_sha256).catch((err) => this.ctx.log.warn({ err, sha: row.artifact_sha256 }, 'session recording file already gone'));
    }
    return true;
  }

  /** Deletes recordings older than the retention; each replica may run it, one wins each row. */
  async applyRetention(now: number): Promise<number> {
    if (this.retentionMs === null) return 0;
    let removed = 0;
    for (const row of await expiredSessionRecordings(this.ctx.store.db, now - this.retentionMs)) {
      if (await this.drop(row as SessionRecordingsTable & { artifact_sha256: string })) removed++;
    }
    return removed;
  }
}

