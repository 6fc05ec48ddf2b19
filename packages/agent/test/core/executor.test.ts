import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Type, type CommandResultMessage, type DispatchedCommand } from '@steward/protocol';
import { Executor } from '../../src/executor.js';
import { Journal } from '../../src/journal.js';
import { createRegistry } from '../../src/modules/registry.js';
import { defineCommand, defineModule, HandedOver, HandlerFailure } from '../../src/modules/types.js';
import { waitFor } from '../../../../test/support/wait.js';
import { tempDir, testConfig } from '../modules/context.js';

const calls: Record<string, number> = {};

const testModule = defineModule({
  name: 'test',
  description: 'commands whose runs the test counts',
  commands: [
    defineCommand({
      type: 'test.count',
      description: 'counts its runs',
      payload: Type.Object({ key: Type.String() }, { additionalProperties: false }),
      safeToRerun: false,
      handler: async ({ key }) => ({ runs: (calls[key] = (calls[key] ?? 0) + 1) }),
    }),
    defineCommand({
      type: 'test.safe',
      description: 'counts its runs; safe to re-run',
      payload: Type.Object({ key: Type.String() }),
      safeToRerun: true,
      handler: async ({ key }) => ({ runs: (calls[key] = (calls[key] ?? 0) + 1) }),
    }),
    defineCommand({
      type: 'test.hang',
      description: 'waits until aborted',
      payload: Type.Object({}),
      safeToRerun: true,
      handler: (_p, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')))),
    }),
    defineCommand({
      type: 'test.handover',
      description: 'goes on in the next process (as an agent upgrade does)',
      payload: Type.Object({ key: Type.String() }),
      safeToRerun: false,
      handler: async ({ key }) => {
        calls[key] = (calls[key] ?? 0) + 1;
        throw new HandedOver('restarting');
      },
      resume: async ({ key }) => ({ resumed: true, runs: calls[key] }),
    }),
    defineCommand({
      type: 'test.fail',
      description: 'fails with a result',
      payload: Type.Object({}),
      safeToRerun: true,
      handler: async () => {
        throw new HandlerFailure('nope', 'it did not work', { result: { partial: true } });
      },
    }),
  ],
});

const journals: Journal[] = [];
afterEach(() => {
  for (const j of journals.splice(0)) j.close();
});

async function harness(dataDir?: string) {
  const dir = dataDir ?? (await tempDir());
  const journal = new Journal(dir);
  journals.push(journal);
  const started: string[] = [];
  const results: CommandResultMessage[] = [];
  const executor = new Executor(journal, createRegistry([testModule]), testConfig(dir), pino({ level: 'silent' }), {
    started: (id) => started.push(id),
    finished: (r) => results.push(r),
    module: () => undefined,
    emit: () => {},
    progress: () => {},
    output: () => {},
  });
  /** Waits until `n` results were reported and nothing runs any more: whatever was started has ended. */
  const finished = (n: number) =>
    waitFor(() => `${n} results and no command running (results: ${results.length}, running: ${executor.runningIds()})`, () => results.length >= n && executor.runningIds().length === 0);
  return { dir, journal, executor, started, results, finished };
}

const cmd = (id: string, type: string, payload: unknown, timeoutMs = 5000): DispatchedCommand => ({ id, type, payload, timeoutMs, createdAt: Date.now() });

describe('executor: exactly one effect per command id', () => {
  it('runs a command once however often it is delivered, and replays the stored result', async () => {
    const h = await harness();
    const key = `k${Math.random()}`;
    h.executor.dispatch(cmd('c1', 'test.count', { key }));
    h.executor.dispatch(cmd('c1', 'test.count', { key }));
    await h.finished(1);
    expect(h.journal.get('c1')?.state).toBe('done');
    // A repeat of a finished id answers from the journal at once, running nothing.
    h.executor.dispatch(cmd('c1', 'test.count', { key }));
    expect(h.executor.runningIds()).toEqual([]);
    expect(calls[key]).toBe(1);
    expect(h.results).toHaveLength(2);
    expect(h.results[0]).toEqual(h.results[1]);
    expect(h.results[0]).toMatchObject({ state: 'succeeded', result: { runs: 1 } });
  });

  it('keeps results in the outbox until acknowledged', async () => {
    const h = await harness();
    h.executor.dispatch(cmd('c1', 'test.safe', { key: 'a' }));
    h.executor.dispatch(cmd('c2', 'test.safe', { key: 'b' }));
    await h.finished(2);
    expect(h.journal.outboxIds().sort()).toEqual(['c1', 'c2']);
    h.journal.ack(['c1']);
    expect(h.journal.outboxIds()).toEqual(['c2']);
    expect(h.journal.outbox()[0]).toMatchObject({ commandId: 'c2', state: 'succeeded' });
  });

  it('after a crash mid-run, an unsafe command ends failed and is not run again', async () => {
    const first = await harness();
    const key = `k${Math.random()}`;
    // What a killed agent leaves: journaled as running, never finished.
    first.journal.begin(cmd('c1', 'test.count', { key }), Date.now());
    first.journal.close();
    journals.pop();
    const second = await harness(first.dir);
    second.executor.recoverInterrupted();
    second.executor.dispatch(cmd('c1', 'test.count', { key }));
    // Both answers are in (the recovery's and the replay of it) and nothing was started.
    await second.finished(2);
    expect(calls[key]).toBeUndefined();
    expect(second.started).toEqual([]);
    expect(second.results[0]).toMatchObject({ commandId: 'c1', state: 'failed', error: { code: 'interrupted' } });
    expect(second.results[1]).toEqual(second.results[0]);
  });

  it('after a crash mid-run, a command safe to re-run runs again once', async () => {
    const first = await harness();
    const key = `k${Math.random()}`;
    first.journal.begin(cmd('c1', 'test.safe', { key }), Date.now());
    first.journal.close();
    journals.pop();
    const second = await harness(first.dir);
    second.executor.recoverInterrupted();
    await second.finished(1);
    second.executor.dispatch(cmd('c1', 'test.safe', { key }));
    await second.finished(2);
    expect(calls[key]).toBe(1);
    expect(second.results[0]).toMatchObject({ state: 'succeeded', result: { runs: 1 } });
    expect(second.results[1]).toEqual(second.results[0]);
  });

  it('cancels and times out running commands', async () => {
    const h = await harness();
    h.executor.dispatch(cmd('c1', 'test.hang', {}));
    h.executor.dispatch(cmd('c2', 'test.hang', {}, 50));
    expect(h.executor.runningIds().sort()).toEqual(['c1', 'c2']);
    h.executor.cancel('c1');
    await h.finished(2);
    const byId = Object.fromEntries(h.results.map((r) => [r.commandId, r.state]));
    expect(byId).toEqual({ c1: 'cancelled', c2: 'timed_out' });
    expect(h.executor.runningIds()).toEqual([]);
  });

  it('reports an unknown type, a bad payload and a handler failure as failed results', async () => {
    const h = await harness();
    h.executor.dispatch(cmd('c1', 'test.missing', {}));
    h.executor.dispatch(cmd('c2', 'test.count', { key: 5 }));
    h.executor.dispatch(cmd('c3', 'test.fail', {}));
    await h.finished(3);
    const byId = Object.fromEntries(h.results.map((r) => [r.commandId, r]));
    expect(byId.c1).toMatchObject({ state: 'failed', error: { code: 'unknown_command_type' } });
    expect(byId.c2).toMatchObject({ state: 'failed', error: { code: 'validation_failed' } });
    expect(byId.c2!.error!.message).toContain('key');
    expect(byId.c3).toMatchObject({ state: 'failed', error: { code: 'nope' }, result: { partial: true } });
  });

  it('stops taking commands while draining', async () => {
    const h = await harness();
    h.executor.dispatch(cmd('c1', 'test.hang', {}));
    await h.executor.drain(30);
    h.executor.dispatch(cmd('c2', 'test.safe', { key: 'z' }));
    // Refused on the spot: not journaled, not started, so nothing can answer for it later.
    expect(h.executor.runningIds()).toEqual([]);
    expect(h.started).toEqual(['c1']);
    expect(h.results.map((r) => [r.commandId, r.state])).toEqual([['c1', 'cancelled']]);
    expect(h.journal.get('c2')).toBeNull();
  });
});

describe('executor: a command that spans a restart (resume)', () => {
  it('a handed-over command stays running in the journal; the next process resumes it once, never re-running its handler', async () => {
    const h = await harness();
    const key = `k${Math.random()}`;
    h.executor.dispatch(cmd('cmd_h1', 'test.handover', { key }));
    await waitFor('the handler ran and handed over', () => calls[key] === 1 && h.executor.runningIds().length === 0);
    expect(h.results).toEqual([]);
    expect(h.journal.get('cmd_h1')?.state).toBe('running');
    h.journal.close();
    journals.splice(journals.indexOf(h.journal), 1);

    const next = await harness(h.dir);
    next.executor.recoverInterrupted();
    await next.finished(1);
    expect(next.results[0]).toMatchObject({ commandId: 'cmd_h1', state: 'succeeded', result: { resumed: true, runs: 1 } });
    expect(calls[key]).toBe(1);
    // A repeated delivery now replays the stored result.
    next.executor.dispatch(cmd('cmd_h1', 'test.handover', { key }));
    await next.finished(2);
    expect(next.results[1]).toMatchObject({ commandId: 'cmd_h1', state: 'succeeded' });
    expect(calls[key]).toBe(1);
  });
});
