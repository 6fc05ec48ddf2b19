import type { StewardClient } from '@steward/client';
import { isTerminalCommandState } from '@steward/protocol/states';
import type { Command, JobDetail } from '@steward/protocol';

export interface WatchOptions {
  /** How long to wait for the job once it exists; given the created job so batches can count. */
  waitMs: (job: JobDetail) => number;
  /** Called once per command, as soon as it is known to have ended; calls never overlap. */
  onResult: (command: Command) => void | Promise<void>;
}

export interface WatchOutcome {
  /** The job as the server has it after the final reconcile. */
  job: JobDetail;
  /** False when the wait ran out with commands still not ended. */
  finished: boolean;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/**
 * Reports each node's result of a job as it ends. Three sources, so no result is ever
 * missed: the event stream, a long-poll on the job
 * (in case events are lost), and a final read of the job that reports whatever neither of
 * them did. `skip`: commands already reported elsewhere.
 */
export async function watchJob(
  client: StewardClient,
  created: JobDetail,
  opts: WatchOptions,
  skip: ReadonlySet<string> = new Set(),
): Promise<WatchOutcome> {
  const stop = new AbortController();
  // Without events the long-poll still gets every result, only later.
  const stream = await client.openEvents({ kinds: ['command.state', 'job.state'], signal: stop.signal }).catch(() => undefined);
  const jobId = created.id;

  const reported = new Set<string>(skip);
  const terminal = new Set<string>(skip);
  let output: Promise<void> = Promise.resolve();
  const report = (c: Command) => {
    if (!isTerminalCommandState(c.state) || reported.has(c.id)) return;
    reported.add(c.id);
    terminal.add(c.id);
    output = output.then(() => opts.onResult(c));
  };

  let markDone!: () => void;
  const done = new Promise<void>((resolve) => (markDone = resolve));
  const allEnded = () => created.total > 0 && terminal.size >= created.total;

  for (const c of created.commands) report(c);
  if (created.total === 0 || created.state !== 'running' || allEnded()) markDone();

  const fetches: Promise<unknown>[] = [];
  const followEvents = async () => {
    if (!stream) return;
    for await (const { event } of stream) {
      if (event.kind === 'command.state' && event.jobId === jobId && isTerminalCommandState(event.state)) {
        if (terminal.has(event.commandId)) continue;
        terminal.add(event.commandId);
        fetches.push(client.getCommand(event.commandId).then(report, () => undefined));
        if (allEnded()) markDone();
      } else if (event.kind === 'job.state' && event.jobId === jobId && event.state !== 'running') {
        markDone();
      }
    }
  };

  const deadline = Date.now() + opts.waitMs(created);
  const longPoll = async () => {
    while (!stop.signal.aborted && Date.now() < deadline) {
      try {
        const wait = Math.min(60, Math.max(1, Math.ceil((deadline - Date.now()) / 1000)));
        const detail = await client.getJob(jobId, { wait, signal: stop.signal });
        for (const c of detail.commands) report(c);
        if (detail.state !== 'running') return markDone();
      } catch {
        if (stop.signal.aborted) return;
        await sleep(1000, stop.signal);
      }
    }
  };

  const timer = setTimeout(markDone, Math.max(0, deadline - Date.now()));
  const background = [followEvents().catch(() => undefined), longPoll()];
  await done;
  clearTimeout(timer);
  stop.abort();
  stream?.close();
  await Promise.allSettled([...background, ...fetches]);

  const outcome = await settledJob(client, jobId);
  for (const c of outcome.job.commands) report(c);
  await output;
  return outcome;
}

const everyoneEnded = (j: JobDetail) => j.commands.length >= j.total && j.commands.every((c) => isTerminalCommandState(c.state));

/** The job as the server has it once the wait is over; `seen`: a copy already at hand, used when final. */
export async function settledJob(client: StewardClient, jobId: string, seen?: JobDetail): Promise<WatchOutcome> {
  let job = seen && seen.state !== 'running' ? seen : await client.getJob(jobId);
  // The job's aggregate state is updated just after its last command; give it a moment.
  if (job.state === 'running' && everyoneEnded(job)) job = await client.getJob(jobId, { wait: 2 });
  return { job, finished: everyoneEnded(job) };
}
