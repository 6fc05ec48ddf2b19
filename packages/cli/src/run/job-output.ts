import { ApiError, type JobOutputEvent, type StewardClient } from '@steward/client';
import { isTerminalCommandState } from '@steward/protocol/states';
import type { Command, Job, JobDetail } from '@steward/protocol';
import { settledJob, watchJob, type WatchOutcome } from './job-watcher.js';
import type { RunOutput, RunPrinter } from './printer.js';

export type OpenJobOutput = (jobId: string, signal: AbortSignal) => AsyncIterable<JobOutputEvent>;

/** The client's job output stream (it reopens a stream that ends early by itself). */
export function openJobOutput(client: StewardClient): OpenJobOutput {
  return (jobId, signal) => client.jobOutput(jobId, { signal });
}

export interface FollowOptions {
  /** When to stop waiting (ms epoch). */
  deadline: number;
  onOutput(o: RunOutput): void;
  /** The control plane stopped storing a command's output at its cap (said once per command). */
  onTruncated(commandId: string, nodeId: string, bytes: number): void;
  onEnd(c: Command): void;
}

export type FollowOutcome =
  /** The job's state and counts; its commands came one by one in their `end` events. */
  | { kind: 'done'; job: Job }
  | { kind: 'deadline' }
  /** The control plane does not serve the stream (or it kept breaking off before giving anything). */
  | { kind: 'unavailable' };

/** Attempts in a row that may fail before the caller falls back to waiting for results. */
const ATTEMPTS = 3;

/**
 * Follows a job's output until its `done`, opening the stream again when it fails (a control
 * plane restarting refuses connections for a while): what comes again is skipped by each
 * command's last seq and by the ends already seen, so every line is printed once and in order.
 */
export async function followJobOutput(open: OpenJobOutput, jobId: string, o: FollowOptions): Promise<FollowOutcome> {
  const lastSeq = new Map<string, number>();
  const ended = new Set<string>();
  const truncated = new Set<string>();
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), Math.max(0, o.deadline - Date.now()));
  let failures = 0;
  try {
    while (!stop.signal.aborted) {
      try {
        for await (const ev of open(jobId, stop.signal)) {
          if (ev.event === 'output') {
            const { chunk } = ev;
            if (chunk.seq <= (lastSeq.get(chunk.commandId) ?? -1)) continue;
            lastSeq.set(chunk.commandId, chunk.seq);
            o.onOutput(chunk);
          } else if (ev.event === 'truncated') {
            if (truncated.has(ev.commandId)) continue;
            truncated.add(ev.commandId);
            o.onTruncated(ev.commandId, ev.nodeId, ev.bytes);
          } else if (ev.event === 'end') {
            if (ended.has(ev.commandId)) continue;
            ended.add(ev.commandId);
            o.onEnd(ev.command);
          } else if (ev.event === 'done') {
            return { kind: 'done', job: ev.job };
          }
          failures = 0;
        }
      } catch (e) {
        if (stop.signal.aborted) break;
        // A control plane without the route: nothing to retry.
        if (e instanceof ApiError && e.status === 404) return { kind: 'unavailable' };
      }
      // Broken off, or closed before `done`: again, unless that keeps happening with nothing new.
      if (stop.signal.aborted) break;
      if (++failures >= ATTEMPTS) return { kind: 'unavailable' };
      await new Promise((r) => setTimeout(r, 250 * failures));
    }
    return { kind: 'deadline' };
  } finally {
    clearTimeout(timer);
    stop.abort();
  }
}

/**
 * Prints a job's output and ends through `printer` until every node ended or the deadline:
 * from the job's output stream, or, where the control plane has none, from each command's
 * result as it ends (watchJob). Ends the stream missed are taken from the job at the end.
 */
export async function followRun(
  client: StewardClient,
  created: JobDetail,
  printer: RunPrinter,
  deadline: number,
  open: OpenJobOutput = openJobOutput(client),
): Promise<WatchOutcome> {
  const ended = new Map<string, Command>();
  const end = (c: Command) => {
    ended.set(c.id, c);
    printer.end(c);
  };
  const followed = await followJobOutput(open, created.id, {
    deadline,
    onOutput: (o) => printer.output(o),
    onTruncated: (commandId, nodeId, bytes) => printer.truncated(commandId, nodeId, bytes),
    onEnd: end,
  });
  if (followed.kind === 'unavailable') {
    return watchJob(client, created, { waitMs: () => Math.max(0, deadline - Date.now()), onResult: end }, new Set(ended.keys()));
  }
  // The stream gave every command in its `end` (as GET /commands/:id shows it) and the ended job
  // in `done`: that is the whole job, so it is not read again (a read of every command, on the
  // control plane and here, between the last result and the exit).
  if (followed.kind === 'done') {
    const whole = wholeJob(followed.job, ended);
    if (whole) return { job: whole, finished: true };
  }
  // Otherwise (`done` carries no command list: a 10,000-node job's would be huge) the job is read once, whole.
  const outcome = await settledJob(client, created.id);
  for (const c of outcome.job.commands) if (isTerminalCommandState(c.state) && !ended.has(c.id)) end(c);
  return outcome;
}

/**
 * The job as GET /jobs/:id gives it (commands ordered by id, no next page), from the `done`
 * of its output stream and the commands of its `end`s; null unless the job ended and every
 * one of its commands came in an `end` in a final state.
 */
export function wholeJob(job: Job, ended: ReadonlyMap<string, Command>): JobDetail | null {
  if (job.state === 'running' || ended.size !== job.total) return null;
  const commands = [...ended.values()];
  if (!commands.every((c) => isTerminalCommandState(c.state))) return null;
  commands.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { ...job, commands, next: null };
}
