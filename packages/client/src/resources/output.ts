import type { Command, Job, JobOutputChunk, OutputChunk } from '@steward/protocol';
import { enc, parseJson } from '../transport.js';
import { Resource } from './resource.js';

/** One event of `GET /api/v1/commands/:id/output`. */
export type CommandOutputEvent =
  | { event: 'output'; chunk: OutputChunk }
  /** The control plane stopped storing this command's output at its cap (`bytes` were kept). */
  | { event: 'truncated'; bytes: number }
  /** The command ended; the last event. */
  | { event: 'end'; command: Command };

/** One event of `GET /api/v1/jobs/:id/output`. */
export type JobOutputEvent =
  | { event: 'output'; chunk: JobOutputChunk }
  /** The control plane stopped storing this command's output at its cap (`bytes` were kept; its result has the tail). */
  | { event: 'truncated'; commandId: string; nodeId: string; bytes: number }
  /** One command of the job ended and all its output was given. */
  | { event: 'end'; commandId: string; nodeId: string; command: Command }
  /** The job ended, after every command's `end`; the last event. Its state and counts (each command came in its `end`). */
  | { event: 'done'; job: Job };

export interface CommandOutputOptions {
  /** Start after this seq (the last one seen); from the start when absent. */
  after?: number;
  /** Keep following until the command ends (the default); false: what is stored, then stop. */
  follow?: boolean;
  signal?: AbortSignal;
}

/** Reopens after a stream that ended early (dropped as a slow reader, a proxy's timeout) this many times in a row at most. */
const MAX_REOPENS = 5;

/** Streamed command output: a command's, or every command's of a job, as it arrives. */
export class OutputApi extends Resource {
  /**
   * A command's output: what is stored after `after`, then live until the command ends (`end`,
   * last). A stream that breaks off early is reopened where it stopped (Last-Event-ID), so no
   * chunk is missed or repeated.
   */
  async *commandOutput(id: string, opts: CommandOutputOptions = {}): AsyncGenerator<CommandOutputEvent> {
    let after = opts.after ?? -1;
    for (let reopens = 0; reopens <= MAX_REOPENS; reopens++) {
      const stream = await this.http.openSse(`/api/v1/commands/${enc(id)}/output`, {
        query: { follow: opts.follow === false ? 'false' : undefined },
        headers: after >= 0 ? { 'last-event-id': String(after) } : {},
        signal: opts.signal,
      });
      try {
        for await (const msg of stream.messages) {
          const data = parseJson(msg.data) as Record<string, unknown>;
          if (msg.event === 'output') {
            const chunk = data as OutputChunk;
            if (chunk.seq <= after) continue;
            after = chunk.seq;
            reopens = -1;
            yield { event: 'output', chunk };
          } else if (msg.event === 'truncated') yield { event: 'truncated', bytes: Number(data.bytes) };
          else if (msg.event === 'end') {
            yield { event: 'end', command: data as unknown as Command };
            return;
          }
        }
      } finally {
        stream.close();
      }
      if (opts.follow === false || opts.signal?.aborted) return;
    }
    throw new Error(`the output stream of command ${id} kept ending before the command did`);
  }

  /**
   * Every command's output of a job as it arrives, an `end` per command, and `done` last. A
   * stream that breaks off early is reopened; what was already given is not given again.
   */
  async *jobOutput(id: string, opts: { signal?: AbortSignal } = {}): AsyncGenerator<JobOutputEvent> {
    const seen = new Map<string, number>();
    const ended = new Set<string>();
    for (let reopens = 0; reopens <= MAX_REOPENS; reopens++) {
      const stream = await this.http.openSse(`/api/v1/jobs/${enc(id)}/output`, { signal: opts.signal });
      try {
        for await (const msg of stream.messages) {
          const data = parseJson(msg.data) as Record<string, unknown>;
          if (msg.event === 'output') {
            const chunk = data as JobOutputChunk;
            if (chunk.seq <= (seen.get(chunk.commandId) ?? -1)) continue;
            seen.set(chunk.commandId, chunk.seq);
            reopens = -1;
            yield { event: 'output', chunk };
          } else if (msg.event === 'truncated') {
            yield { event: 'truncated', commandId: String(data.commandId), nodeId: String(data.nodeId), bytes: Number(data.bytes) };
          } else if (msg.event === 'end') {
            const commandId = String(data.commandId);
            if (ended.has(commandId)) continue;
            ended.add(commandId);
            yield { event: 'end', commandId, nodeId: String(data.nodeId), command: data.command as Command };
          } else if (msg.event === 'done') {
            yield { event: 'done', job: data as unknown as Job };
            return;
          }
        }
      } finally {
        stream.close();
      }
      if (opts.signal?.aborted) return;
    }
    throw new Error(`the output stream of job ${id} kept ending before the job did`);
  }
}
