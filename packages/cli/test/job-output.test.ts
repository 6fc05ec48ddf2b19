import { ApiError, type JobOutputEvent, type StewardClient } from '@steward/client';
import type { Command, Job, JobDetail } from '@steward/protocol';
import { describe, expect, it } from 'vitest';
import { followJobOutput, followRun, type OpenJobOutput } from '../src/run/job-output.js';
import { makePrinter } from '../src/run/printers.js';
import { recorder } from './helpers/terminal.js';

const out = (commandId: string, seq: number, data: string): JobOutputEvent => ({ event: 'output', chunk: { commandId, nodeId: `n_${commandId}`, seq, stream: 'stdout', data, at: 0 } });
const end = (commandId: string): JobOutputEvent => ({ event: 'end', commandId, nodeId: `n_${commandId}`, command: { id: commandId } as Command });
const cut = (commandId: string, bytes: number): JobOutputEvent => ({ event: 'truncated', commandId, nodeId: `n_${commandId}`, bytes });
const done = (): JobOutputEvent => ({ event: 'done', job: { id: 'job_1', state: 'succeeded' } as JobDetail });

/** Streams that give `rounds[i]` on the i-th opening, then break off (throw) unless the round ends in `done`. */
function streams(rounds: (JobOutputEvent[] | Error)[]) {
  let opened = 0;
  const open: OpenJobOutput = async function* () {
    const round = rounds[Math.min(opened++, rounds.length - 1)]!;
    if (round instanceof Error) throw round;
    yield* round;
    throw new Error('connection reset');
  };
  return { open, opened: () => opened };
}

function collect() {
  const seen: string[] = [];
  return {
    seen,
    onOutput: (o: { commandId: string; data: string }) => void seen.push(`${o.commandId}:${o.data}`),
    onTruncated: (commandId: string, _nodeId: string, bytes: number) => void seen.push(`cut ${commandId} ${bytes}`),
    onEnd: (c: Command) => void seen.push(`end ${c.id}`),
  };
}

describe('followJobOutput', () => {
  it('reopens a stream that broke off and skips what comes again, so each line and end is seen once', async () => {
    const s = streams([
      [out('c1', 0, 'a'), out('c2', 0, 'x'), out('c1', 1, 'b')],
      [out('c1', 0, 'a'), out('c1', 1, 'b'), out('c2', 0, 'x'), out('c1', 2, 'c'), end('c1')],
      [out('c1', 0, 'a'), out('c1', 1, 'b'), out('c1', 2, 'c'), end('c1'), out('c2', 0, 'x'), out('c2', 1, 'y'), end('c2'), done()],
    ]);
    const c = collect();
    const r = await followJobOutput(s.open, 'job_1', { deadline: Date.now() + 10_000, ...c });
    expect(r.kind).toBe('done');
    expect(c.seen).toEqual(['c1:a', 'c2:x', 'c1:b', 'c1:c', 'end c1', 'c2:y', 'end c2']);
    expect(s.opened()).toBe(3);
  });

  it('passes a command\'s truncation on once, also when a reopened stream says it again', async () => {
    const s = streams([
      [out('c1', 0, 'a'), cut('c1', 1)],
      [out('c1', 0, 'a'), cut('c1', 1), end('c1'), done()],
    ]);
    const c = collect();
    expect((await followJobOutput(s.open, 'job_1', { deadline: Date.now() + 10_000, ...c })).kind).toBe('done');
    expect(c.seen).toEqual(['c1:a', 'cut c1 1', 'end c1']);
  });

  it('says unavailable at once on 404 (a control plane without the route), and after repeated breaks with nothing new', async () => {
    const missing = streams([new ApiError(404, 'not_found', 'no route')]);
    expect(await followJobOutput(missing.open, 'job_1', { deadline: Date.now() + 10_000, ...collect() })).toEqual({ kind: 'unavailable' });
    expect(missing.opened()).toBe(1);
    const flaky = streams([[out('c1', 0, 'a')], [out('c1', 0, 'a')]]);
    const c = collect();
    expect(await followJobOutput(flaky.open, 'job_1', { deadline: Date.now() + 10_000, ...c })).toEqual({ kind: 'unavailable' });
    expect(c.seen).toEqual(['c1:a']);
    expect(flaky.opened()).toBe(3);
  });

  it('stops at the deadline while the stream is quiet', async () => {
    const open: OpenJobOutput = async function* (_id, signal) {
      yield out('c1', 0, 'a');
      await new Promise((_r, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    };
    const c = collect();
    const started = Date.now();
    expect(await followJobOutput(open, 'job_1', { deadline: Date.now() + 300, ...c })).toEqual({ kind: 'deadline' });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(c.seen).toEqual(['c1:a']);
  });
});

describe('followRun over a job output stream', () => {
  const command = (id: string): Command => ({ id, nodeId: `n_${id}`, jobId: 'job_1', type: 'exec.run', state: 'succeeded', result: { exitCode: 0, stdout: '', stderr: '' } }) as unknown as Command;
  const job = { id: 'job_1', state: 'succeeded', total: 3, counts: { succeeded: 3 } } as unknown as Job;
  /** The job as GET /jobs/:id gives it; `reads` counts the reads. */
  function client() {
    const api = { reads: 0, client: null as unknown as StewardClient };
    api.client = { getJob: async () => (api.reads++, { ...job, commands: ['c1', 'c2', 'c3'].map(command), next: null }) } as unknown as StewardClient;
    return api;
  }
  const run = (api: ReturnType<typeof client>, events: JobOutputEvent[]) => {
    const { term, all } = recorder();
    const printer = makePrinter({ format: 'lines', term, nameOf: (id) => id, names: ['n_c1', 'n_c2', 'n_c3'], total: 3 });
    const open: OpenJobOutput = async function* () {
      yield* events;
    };
    return { all, outcome: followRun(api.client, { ...job, state: 'running', commands: [], next: null } as JobDetail, printer, Date.now() + 10_000, open) };
  };
  const ended = (id: string): JobOutputEvent => ({ event: 'end', commandId: id, nodeId: `n_${id}`, command: command(id) });

  it('takes the whole job from the ends and the done when every command came in one: no read after the last result', async () => {
    const api = client();
    const { outcome } = run(api, [ended('c3'), ended('c1'), ended('c2'), { event: 'done', job }]);
    // As GET /jobs/:id has it: the commands by id, no next page.
    expect(await outcome).toEqual({ job: { ...job, commands: ['c1', 'c2', 'c3'].map(command), next: null }, finished: true });
    expect(api.reads).toBe(0);
  });

  it('reads the job once when the stream did not give every command, and prints the end it missed', async () => {
    const api = client();
    const { outcome, all } = run(api, [ended('c1'), ended('c3'), { event: 'done', job }]);
    expect((await outcome).job.commands.map((c) => c.id)).toEqual(['c1', 'c2', 'c3']);
    expect(api.reads).toBe(1);
    expect(all('stdout')).toContain('[n_c2] succeeded');
  });
});
