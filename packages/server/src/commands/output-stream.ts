import type { FastifyReply, FastifyRequest } from 'fastify';
import { isTerminalCommandState, NotFoundError, type CommandState, type OutputChunk } from '@steward/protocol';
import type { Context } from '../core/context.js';
import type { StreamSlots } from '../core/stream-slots.js';
import { runLiveSse, type LiveSse } from '../http/live-sse.js';
import { getOutputState, outputAfter } from '../store/queries/command-output.js';
import type { CommandOutputTable } from '../store/schema.js';
import type { CommandService } from './service.js';

/** Chunks read at once (at most 16 KiB each). */
const PAGE = 200;
/** Readers on another replica than the one storing the output notice new chunks by polling. */
export const OUTPUT_POLL_MS = 250;

export interface OutputStreamDeps {
  ctx: Context;
  commands: CommandService;
  slots: StreamSlots;
  /** Open streams, ended when the server stops. */
  open: Set<() => void>;
}

export function chunkOf(r: CommandOutputTable): OutputChunk {
  return { seq: r.seq, stream: r.stream as OutputChunk['stream'], data: r.data, at: r.at };
}

/** `after` from the query, else from Last-Event-ID (an EventSource's reconnect), else from the start. */
export function resumeAfter(req: FastifyRequest, after: number | undefined): number {
  if (after !== undefined) return after;
  const header = req.headers['last-event-id'];
  const n = typeof header === 'string' && /^\d+$/.test(header.trim()) ? Number(header.trim()) : NaN;
  return Number.isSafeInteger(n) ? n : -1;
}

/**
 * `GET /api/v1/commands/:id/output` as Server-Sent Events: `output` events (id = seq) with what
 * is stored after `after`, then live; `truncated` once if the cap cut the output; `end` with the
 * command's view once it ended and every stored chunk was sent. With `follow=false` it sends
 * what is stored and ends (with `end` only if the command already ended).
 */
export async function streamCommandOutput(
  d: OutputStreamDeps,
  id: string,
  opts: { follow: boolean; after: number },
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  if (!(await getOutputState(d.ctx.store.db, id))) throw new NotFoundError('command', id);
  let after = opts.after;
  let toldTruncated = false;
  const sendRows = (s: LiveSse, rows: readonly CommandOutputTable[]) => {
    for (const r of rows) s.send('output', chunkOf(r), r.seq);
    if (rows.length) after = rows[rows.length - 1]!.seq;
  };
  await runLiveSse(req, reply, {
    slots: d.slots,
    maxBuffered: d.ctx.settings.limits.sseBufferBytes,
    log: d.ctx.log,
    what: { commandId: id },
    pollMs: OUTPUT_POLL_MS,
    open: d.open,
    subscribe: (wake, now) => {
      const onChange = (commandId: string, _jobId: string | null, stored: CommandOutputTable[] | null) => {
        if (commandId !== id) return;
        // What was just stored and follows what this reader has: sent as it is, no read.
        const direct = stored?.length && stored[0]!.seq === after + 1;
        if (direct && now((s) => sendRows(s, stored))) return;
        wake();
      };
      d.commands.output.changed.on('change', onChange);
      const unsubscribe = d.ctx.bus.subscribe(({ event }) => {
        if (event.kind === 'command.state' && event.commandId === id) wake();
      });
      return () => {
        d.commands.output.changed.off('change', onChange);
        unsubscribe();
      };
    },
    step: async (s) => {
      // The state is read before the chunks: a command that had ended then has every chunk stored.
      const state = await getOutputState(d.ctx.store.db, id);
      if (!state) return s.end();
      for (;;) {
        const rows = await outputAfter(d.ctx.store.db, id, after, PAGE);
        sendRows(s, rows);
        await s.drained();
        if (rows.length < PAGE || s.closed) break;
      }
      if (state.output_truncated === 1 && !toldTruncated) {
        toldTruncated = true;
        s.send('truncated', { bytes: Number(state.output_bytes) });
      }
      if (isTerminalCommandState(state.state as CommandState)) {
        s.send('end', await d.commands.get(id));
        return s.end();
      }
      if (!opts.follow) s.end();
    },
  });
}
