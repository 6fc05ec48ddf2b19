import type { FastifyReply, FastifyRequest } from 'fastify';
import { isTerminalCommandState, NotFoundError, type CommandState, type Job, type JobOutputChunk } from '@steward/protocol';
import { runLiveSse, type LiveSse } from '../http/live-sse.js';
import type { CommandOutputTable } from '../store/schema.js';
import { jobOutputStates, outputOfCommandsAfter, type OutputState } from '../store/queries/command-output.js';
import { getJobRow } from '../store/queries/jobs.js';
import { chunkOf, OUTPUT_POLL_MS, type OutputStreamDeps } from './output-stream.js';

/** Commands whose new output is read in one query; a job of thousands takes a few. */
const COMMANDS_PER_READ = 200;
/** Chunks read at once (at most 16 KiB each). */
const PAGE = 200;

interface Seen {
  after: number;
  nodeId: string;
  ended: boolean;
  toldTruncated: boolean;
}

/**
 * `GET /api/v1/jobs/:id/output` as Server-Sent Events: every command's chunks interleaved as
 * they arrive (`output`, with command and node ids), an `end` per command once it ended and all
 * its stored output was sent (with the command as GET /api/v1/commands/:id shows it), `truncated`
 * once for a command whose output the control plane stopped storing at its cap, and `done`
 * with the job after the last: its state and counts, not its commands again (each came in its
 * `end`; for a job of thousands the full detail would be one event of many megabytes). One look at the
 * job's commands per step, and chunks are read only for the commands whose output moved.
 */
export async function streamJobOutput(
  d: OutputStreamDeps,
  jobView: (id: string) => Promise<Job>,
  id: string,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  if (!(await getJobRow(d.ctx.store.db, id))) throw new NotFoundError('job', id);
  const seen = new Map<string, Seen>();
  const sendRows = (s: LiveSse, nodeId: string, rows: readonly CommandOutputTable[]) => {
    for (const r of rows) {
      const chunk: JobOutputChunk = { commandId: r.command_id, nodeId, ...chunkOf(r) };
      s.send('output', chunk);
      seen.get(r.command_id)!.after = r.seq;
    }
  };
  await runLiveSse(req, reply, {
    slots: d.slots,
    maxBuffered: d.ctx.settings.limits.sseBufferBytes,
    log: d.ctx.log,
    what: { jobId: id },
    pollMs: OUTPUT_POLL_MS,
    open: d.open,
    subscribe: (wake, now) => {
      const onChange = (commandId: string, jobId: string | null, stored: CommandOutputTable[] | null) => {
        if (jobId !== id) return;
        // What was just stored and follows what this reader sent of that command: sent as it is, no read.
        const m = seen.get(commandId);
        const direct = m && !m.ended && stored?.length && stored[0]!.seq === m.after + 1;
        if (direct && now((s) => sendRows(s, m.nodeId, stored))) return;
        wake();
      };
      d.commands.output.changed.on('change', onChange);
      const unsubscribe = d.ctx.bus.subscribe(({ event }) => {
        if ((event.kind === 'command.state' && event.jobId === id) || (event.kind === 'job.state' && event.jobId === id)) wake();
      });
      return () => {
        d.commands.output.changed.off('change', onChange);
        unsubscribe();
      };
    },
    step: async (s) => {
      const db = d.ctx.store.db;
      // Job first, then its commands, then their chunks: what had ended is complete when read.
      const job = await getJobRow(db, id);
      if (!job) return s.end();
      const states = await jobOutputStates(db, id);
      const moved: OutputState[] = [];
      for (const c of states) {
        let m = seen.get(c.id);
        if (!m) seen.set(c.id, (m = { after: -1, ended: false, toldTruncated: false, nodeId: c.node_id }));
        if (!m.ended && c.output_seq - 1 > m.after) moved.push(c);
      }
      for (let i = 0; i < moved.length && !s.closed; i += COMMANDS_PER_READ) {
        const batch = new Map(moved.slice(i, i + COMMANDS_PER_READ).map((c) => [c.id, c]));
        for (;;) {
          const cursors = [...batch.keys()].map((commandId) => ({ commandId, after: seen.get(commandId)!.after }));
          const rows = await outputOfCommandsAfter(db, cursors, PAGE);
          for (const r of rows) sendRows(s, batch.get(r.command_id)!.node_id, [r]);
          await s.drained();
          if (rows.length < PAGE || s.closed) break;
        }
      }
      // After the chunks read up to the state: everything that was kept has been sent by now.
      for (const c of states) {
        const m = seen.get(c.id)!;
        if (c.output_truncated !== 1 || m.toldTruncated) continue;
        m.toldTruncated = true;
        s.send('truncated', { commandId: c.id, nodeId: c.node_id, bytes: Number(c.output_bytes) });
      }
      const ended = states.filter((c) => !seen.get(c.id)!.ended && isTerminalCommandState(c.state as CommandState));
      for (const c of ended) {
        seen.get(c.id)!.ended = true;
        s.send('end', { commandId: c.id, nodeId: c.node_id, command: await d.commands.get(c.id) });
        // A command's view carries its result (exec.run's output tail): one at a time to the client.
        await s.drained();
      }
      if (job.state !== 'running') {
        s.send('done', await jobView(id));
        s.end();
      }
    },
  });
}
