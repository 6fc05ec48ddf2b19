import { ApiError, type JobOutputEvent } from '@steward/client';
import type { Command, JobDetail } from '@steward/protocol';
import { describe, expect, it } from 'vitest';
import { followJobOutput, type OpenJobOutput } from '../src/run/job-output.js';

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
