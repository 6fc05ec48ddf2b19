import { EventEmitter } from 'node:events';
import type { CommandOutputMessage } from '@steward/protocol';
import { cutUtf8 } from '@steward/protocol/node';
import type { Context } from '../core/context.js';
import { advanceOutput, getOutputState, insertOutputChunks } from '../store/queries/command-output.js';
import type { CommandOutputTable } from '../store/schema.js';

/** What the link answers an agent's `command.output`: an ack up to a seq, or a refusal. */
export type OutputVerdict =
  | { ok: true; upTo: number }
  | { ok: false; code: 'unknown_command' | 'output_not_contiguous' | 'output_gap'; message: string; details?: unknown; upTo?: number };

interface Known {
  nodeId: string;
  jobId: string | null;
  next: number;
  bytes: number;
  truncated: boolean;
  scrub: (text: string) => string;
}

/** Commands whose output position is kept in memory; past this the cache starts again. */
const MAX_KNOWN = 20_000;

/**
 * Stores the output chunks agents stream, once each and in seq order, up to the per-command
 * cap (past it chunks are acknowledged but dropped, and the command is marked truncated).
 * Readers on this replica are told at once (`changed`); readers on other replicas poll.
 */
export class OutputRecorder {
  /**
   * Emits `(commandId, jobId, stored)` after chunks of a command were stored here; `stored` is
   * what was written (rows in seq order, empty past the cap), `null` when the cap was reached by them.
   */
  readonly changed = new EventEmitter();
  /** Output positions by command, as promises so chunks arriving together share one read. */
  private readonly known = new Map<string, Promise<Known | undefined>>();

  constructor(
    private readonly ctx: Context,
    private readonly maxBytes: number,
    /** Replaces a command's secret payload values in text (the same scrubbing its result gets). */
    private readonly scrubberOf: (nodeId: string, commandId: string) => Promise<(text: string) => string>,
  ) {
    this.changed.setMaxListeners(0);
  }

  async record(nodeId: string, msg: CommandOutputMessage): Promise<OutputVerdict> {
    const first = msg.chunks[0]!.seq;
    if (msg.chunks.some((c, i) => c.seq !== first + i)) {
      return { ok: false, code: 'output_not_contiguous', message: `command.output for ${msg.commandId}: seqs must be contiguous and ascending` };
    }
    const last = first + msg.chunks.length - 1;
    for (let attempt = 0; attempt < 3; attempt++) {
      const k = await this.load(nodeId, msg.commandId);
      if (!k) {
        // Acknowledged anyway: an agent must not keep resending output nobody will store.
        return { ok: false, code: 'unknown_command', message: `command ${msg.commandId} is not a command of this node`, upTo: last };
      }
      if (k.truncated && last >= k.next) {
        // Past the cap nothing more is stored: acknowledged without touching the store.
        k.next = last + 1;
        return { ok: true, upTo: last };
      }
      if (first > k.next && attempt === 0) {
        // What this replica remembers may be stale (the node streamed through another replica meanwhile): look again.
        this.known.delete(msg.commandId);
        continue;
      }
      if (first > k.next) {
        return { ok: false, code: 'output_gap', message: `command.output for ${msg.commandId}: expected seq ${k.next}, got ${first}`, details: { expected: k.next } };
      }
      const fresh = msg.chunks.slice(k.next - first);
      if (fresh.length === 0) return { ok: true, upTo: k.next - 1 }; // a resend of what is stored
      const rows: CommandOutputTable[] = [];
      let bytes = 0;
      let truncated = k.truncated;
      for (const c of fresh) {
        if (truncated) continue;
        let data = c.data;
        const room = this.maxBytes - k.bytes - bytes;
        if (Buffer.byteLength(data) > room) {
          // The chunk that crosses the cap keeps what fits; the rest is dropped.
          truncated = true;
          data = cutUtf8(data, room);
          if (data === '') continue;
        }
        bytes += Buffer.byteLength(data);
        rows.push({ command_id: msg.commandId, seq: c.seq, stream: c.stream, data: k.scrub(data), at: c.at });
      }
      const from = k.next;
      const moved = await this.ctx.store.batch(async (db) => {
        if (!(await advanceOutput(db, msg.commandId, from, last + 1, bytes, truncated && !k.truncated))) return false;
        await insertOutputChunks(db, rows);
        return true;
      });
      if (!moved) {
        // Another connection of the node (a resend on a new link) stored first: look again.
        this.known.delete(msg.commandId);
        continue;
      }
      k.next = last + 1;
      k.bytes += bytes;
      const newlyTruncated = truncated && !k.truncated;
      k.truncated = truncated;
      this.changed.emit('change', msg.commandId, k.jobId, newlyTruncated ? null : rows);
      return { ok: true, upTo: last };
    }
    return { ok: false, code: 'output_gap', message: `command.output for ${msg.commandId}: could not store it; send it again` };
  }

  /** The command has ended: its position need not stay in memory (a late resend reloads it). */
  forget(commandId: string): void {
    this.known.delete(commandId);
  }

  private async load(nodeId: string, commandId: string): Promise<Known | undefined> {
    let pending = this.known.get(commandId);
    if (!pending) {
      pending = this.read(nodeId, commandId);
      if (this.known.size >= MAX_KNOWN) this.known.clear();
      this.known.set(commandId, pending);
      // A failed or empty read is not kept: the next chunk reads again.
      pending.then(
        (k) => !k && this.known.get(commandId) === pending && this.known.delete(commandId),
        () => this.known.get(commandId) === pending && this.known.delete(commandId),
      );
    }
    const k = await pending;
    return k && k.nodeId === nodeId ? k : undefined;
  }

  private async read(nodeId: string, commandId: string): Promise<Known | undefined> {
    const [row, scrub] = await Promise.all([getOutputState(this.ctx.store.db, commandId), this.scrubberOf(nodeId, commandId)]);
    if (!row || row.node_id !== nodeId) return undefined;
    return { nodeId, jobId: row.job_id, next: row.output_seq, bytes: Number(row.output_bytes), truncated: row.output_truncated === 1, scrub };
  }
}
