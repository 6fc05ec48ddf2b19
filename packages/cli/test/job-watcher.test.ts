import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StewardClient } from '@steward/client';
import type { Command, JobDetail } from '@steward/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { followRun } from '../src/run/job-output.js';
import { watchJob, type WatchOptions } from '../src/run/job-watcher.js';
import { makePrinter } from '../src/run/printers.js';
import { recorder } from './helpers/terminal.js';
import { waitFor } from '../../../test/support/wait.js';

/**
 * A stand-in for the job routes and the event stream, where the test decides when each
 * command ends and whether its event is delivered or lost.
 */
class FakeApi {
  server: Server = createServer((req, res) => void this.handle(req, res));
  url = '';
  job: JobDetail | undefined;
  streams: ServerResponse[] = [];
  private seq = 0;
  private jobWaiters: (() => void)[] = [];

  constructor(private readonly nodeIds: string[]) {}

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Ends one command; `deliver: false` loses its event on the way. */
  finish(index: number, state: Command['state'], stdout: string, deliver = true): void {
    const job = this.job!;
    const c = job.commands[index]!;
    Object.assign(c, { state, finishedAt: Date.now(), result: { exitCode: state === 'succeeded' ? 0 : 1, stdout, stderr: '' } });
    if (deliver) this.emit({ kind: 'command.state', at: Date.now(), commandId: c.id, nodeId: c.nodeId, jobId: job.id, type: c.type, state });
    if (job.commands.every((x) => ['succeeded', 'failed'].includes(x.state))) {
      job.state = job.commands.every((x) => x.state === 'succeeded') ? 'succeeded' : 'failed';
      job.finishedAt = Date.now();
      if (deliver) this.emit({ kind: 'job.state', at: Date.now(), jobId: job.id, state: job.state, counts: {} });
      for (const w of this.jobWaiters.splice(0)) w();
    }
  }

  private emit(event: Record<string, unknown>): void {
    this.seq++;
    for (const s of this.streams) s.write(`id: ${this.seq}\nevent: ${String(event.kind)}\ndata: ${JSON.stringify(event)}\n\n`);
  }

  private json(res: ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    let text = '';
    for await (const chunk of req) text += chunk;
    const url = new URL(req.url!, this.url);
    const path = url.pathname;
    if (path === '/api/v1/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('retry: 2000\n\n');
      this.streams.push(res);
      return;
    }
    if (path === '/api/v1/jobs' && req.method === 'POST') {
      const body = JSON.parse(text) as { type: string; payload: unknown };
      const now = Date.now();
      const commands: Command[] = this.nodeIds.map((nodeId, i) => ({
        id: `cmd_${i}`,
        requestId: null,
        nodeId,
        jobId: 'job_1',
        type: body.type,
        payload: body.payload,
        state: 'pending',
        timeoutMs: 1000,
        ttlMs: 1000,
        expiresAt: null,
        createdAt: now,
        dispatchedAt: null,
        startedAt: null,
        finishedAt: null,
        deliveries: 0,
        result: null,
        error: null,
        progress: null,
      }));
      this.job = {
        id: 'job_1',
        requestId: null,
        type: body.type,
        payload: body.payload,
        target: { all: true },
        batchSize: null,
        next: null,
        state: commands.length ? 'running' : 'succeeded',
        total: commands.length,
        counts: {},
        createdAt: now,
        finishedAt: commands.length ? null : now,
        commands,
      };
      this.json(res, 201, this.job);
      return;
    }
    const jobMatch = /^\/api\/v1\/jobs\/([^/]+)$/.exec(path);
    if (jobMatch && this.job) {
      const wait = Number(url.searchParams.get('wait') ?? 0) * 1000;
      if (this.job.state === 'running' && wait > 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, wait);
          this.jobWaiters.push(() => (clearTimeout(t), resolve()));
        });
      }
      return this.json(res, 200, this.job);
    }
    const cmdMatch = /^\/api\/v1\/commands\/([^/]+)$/.exec(path);
    if (cmdMatch && this.job) {
      const c = this.job.commands.find((x) => x.id === cmdMatch[1]);
      return c ? this.json(res, 200, c) : this.json(res, 404, { error: { code: 'not_found', message: 'no' } });
    }
    this.json(res, 404, { error: { code: 'not_found', message: `no route ${path}` } });
  }
}

let api: FakeApi | undefined;
afterEach(async () => {
  await api?.stop();
  api = undefined;
});

async function setup(nodeIds: string[]) {
  api = new FakeApi(nodeIds);
  await api.start();
  const client = new StewardClient({ baseUrl: api.url, token: 't' });
  const reported: string[] = [];
  return { api, client, reported };
}

const CREATE = { target: { all: true as const }, type: 'exec.run', payload: { command: 'true' } };

/** Creates the job, then watches it; `then` runs once the watch is under way (its event stream open). */
async function runJob(client: StewardClient, api: FakeApi, opts: WatchOptions, then: () => void = () => undefined) {
  const created = await client.createJob(CREATE);
  const watching = watchJob(client, created, opts);
  await waitForStream(api);
  then();
  return watching;
}

async function waitForStream(api: FakeApi) {
  for (let i = 0; i < 100 && api.streams.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
}

describe('watchJob', () => {
  it('reports every result once, in the order they end, even when events are lost', async () => {
    const { api, client, reported } = await setup(['n_a', 'n_b', 'n_c']);
    const outcome = await runJob(client, api, { waitMs: () => 10_000, onResult: (c) => void reported.push(`${c.id}:${c.state}`) }, () => {
      setTimeout(() => api.finish(1, 'succeeded', 'b'), 20);
      setTimeout(() => api.finish(0, 'failed', 'a', false), 60); // its event never arrives
      setTimeout(() => api.finish(2, 'succeeded', 'c', false), 100); // nor this one, nor the job's
    });
    expect(outcome.finished).toBe(true);
    expect(outcome.job.state).toBe('failed');
    expect(reported[0]).toBe('cmd_1:succeeded');
    expect([...reported].sort()).toEqual(['cmd_0:failed', 'cmd_1:succeeded', 'cmd_2:succeeded']);
  });

  it('returns at once when no node matched', async () => {
    const { client, reported } = await setup([]);
    const started = Date.now();
    const outcome = await watchJob(client, await client.createJob(CREATE), { waitMs: () => 10_000, onResult: (c) => void reported.push(c.id) });
    expect(outcome.job.total).toBe(0);
    expect(reported).toEqual([]);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('gives up after the wait, reporting what ended and leaving the rest unfinished', async () => {
    const { api, client, reported } = await setup(['n_a', 'n_b']);
    const started = Date.now();
    const outcome = await runJob(client, api, { waitMs: () => 1500, onResult: (c) => void reported.push(c.id) }, () => setTimeout(() => api.finish(0, 'succeeded', 'a'), 20));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(outcome.finished).toBe(false);
    expect(reported).toEqual(['cmd_0']);
    expect(outcome.job.commands[1]!.state).toBe('pending');
  });

  it('never runs two result callbacks at the same time', async () => {
    const { api, client } = await setup(['n_a', 'n_b', 'n_c', 'n_d']);
    let active = 0;
    let maxActive = 0;
    await runJob(
      client,
      api,
      {
        waitMs: () => 5000,
        onResult: async () => {
          active++;
          maxActive = Math.max(maxActive, active);
          await new Promise((r) => setTimeout(r, 20));
          active--;
        },
      },
      () => {
        for (let i = 0; i < 4; i++) api.finish(i, 'succeeded', String(i));
      },
    );
    expect(maxActive).toBe(1);
  });
});

describe('followRun against a control plane without job output streams', () => {
  it("falls back to each node's result: output from the result, then its end line", async () => {
    const { api, client } = await setup(['n_a', 'n_b']);
    const created = await client.createJob(CREATE);
    const { term, all } = recorder();
    const printer = makePrinter({ format: 'lines', term, nameOf: (id) => id, names: ['n_a', 'n_b'], total: 2 });
    const following = followRun(client, created, printer, Date.now() + 10_000);
    await waitForStream(api);
    api.finish(1, 'succeeded', 'b says hi\n');
    await waitFor("b's end", () => all('stdout').includes('[n_b]'));
    api.finish(0, 'failed', 'a says no\n');
    const outcome = await following;
    printer.finish();
    expect(outcome.finished).toBe(true);
    expect(all('stdout')).toMatch(/^n_b \| b says hi\n\[n_b\] succeeded exit=0.*\nn_a \| a says no\n\[n_a\] failed exit=1.*\n$/);
  });

  it('does not report again what was reported before it started (skip)', async () => {
    const { api, client, reported } = await setup(['n_a', 'n_b']);
    const created = await client.createJob(CREATE);
    api.finish(0, 'succeeded', 'a');
    const watching = watchJob(client, created, { waitMs: () => 10_000, onResult: (c) => void reported.push(c.id) }, new Set(['cmd_0']));
    await waitForStream(api);
    api.finish(1, 'succeeded', 'b');
    expect((await watching).finished).toBe(true);
    expect(reported).toEqual(['cmd_1']);
  });
});
