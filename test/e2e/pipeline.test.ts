import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '@steward/client';
import { addAgent, startServerProcess, type AgentProc, type ServerProc } from '../support/processes.js';
import { processGone, waitFor } from '../support/wait.js';

describe('command pipeline over real processes', { timeout: 30_000 }, () => {
  let server: ServerProc;
  let a: AgentProc;
  let b: AgentProc;

  beforeAll(async () => {
    server = await startServerProcess();
    [a, b] = await Promise.all([addAgent(server, 'alpha', ['role=web']), addAgent(server, 'beta', ['role=db'])]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    await server?.kill();
  });

  it('reports inventory and heartbeat stats for each node', async () => {
    const node = await server.client.getNode('alpha');
    expect(node.labels).toEqual({ role: 'web' });
    expect(node.cpuCores).toBeGreaterThan(0);
    expect(node.commandTypes.map((t) => t.type)).toContain('exec.run');
    const withStats = await waitFor('a heartbeat', async () => (await server.client.getNode('alpha')).stats);
    expect(withStats.memory.totalBytes).toBeGreaterThan(0);
    expect(withStats.disks.length).toBeGreaterThan(0);
  });

  it('runs a command on one node and returns its output', async () => {
    const { command, created } = await server.client.submitCommand({
      node: 'alpha',
      type: 'exec.run',
      payload: { command: 'echo', args: ['hello', '$HOME'] },
    });
    expect(created).toBe(true);
    expect(command.state).toBe('pending');
    const done = await server.client.getCommand(command.id, { wait: 10 });
    expect(done.state).toBe('succeeded');
    expect(done.result).toMatchObject({ exitCode: 0, stdout: 'hello $HOME\n' });
    expect(done.deliveries).toBe(1);
  });

  it('answers the same requestId with the same command, and a different body with 409', async () => {
    const body = { node: 'beta', type: 'sys.ping', requestId: `req-${Date.now()}` };
    const first = await server.client.submitCommand(body);
    const again = await server.client.submitCommand({ ...body, node: (await server.client.getNode('beta')).id });
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.command.id).toBe(first.command.id);
    const err = await server.client.submitCommand({ ...body, payload: { echo: 'x' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(409);
    expect((err as ApiError).code).toBe('request_id_conflict');
  });

  it('refuses bad input with a clear error and creates nothing', async () => {
    const before = (await server.client.listCommands({ node: 'alpha' })).items.length;
    const bad = [
      server.client.submitCommand({ node: 'nope', type: 'sys.ping' }),
      server.client.submitCommand({ node: 'alpha', type: 'exec.run', payload: { command: 42 } }),
      server.client.submitCommand({ node: 'alpha', type: 'nginx.site.apply', payload: {} }),
      server.client.submitCommand({ node: 'alpha', type: 'Not A Type' }),
    ];
    const errors = (await Promise.all(bad.map((p) => p.catch((e: unknown) => e)))) as ApiError[];
    expect(errors.map((e) => [e.status, e.code])).toEqual([
      [404, 'not_found'],
      [400, 'validation_failed'],
      [400, 'unknown_command_type'],
      [400, 'validation_failed'],
    ]);
    expect(errors[1]!.message).toContain('payload.command');
    expect((await server.client.listCommands({ node: 'alpha' })).items.length).toBe(before);
  });

  it('fans a job out to every node and to a selector', async () => {
    const all = await server.client.createJob({ target: { all: true }, type: 'exec.run', payload: { command: 'hostname' } });
    expect(all.total).toBe(2);
    const done = await server.client.getJob(all.id, { wait: 10 });
    expect(done.state).toBe('succeeded');
    expect(done.counts.succeeded).toBe(2);
    const web = await server.client.createJob({ target: { selector: 'role=web' }, type: 'sys.ping' });
    expect(web.commands.map((c) => c.nodeId)).toEqual([(await server.client.getNode('alpha')).id]);
    const none = await server.client.createJob({ target: { selector: 'role=nothing' }, type: 'sys.ping' }).catch((e: unknown) => e);
    expect((none as ApiError).status).toBe(400);
  });

  it('marks a job failed when any node fails', async () => {
    const job = await server.client.createJob({
      target: { all: true },
      type: 'exec.run',
      payload: { command: 'sh', args: ['-c', 'exit 3'] },
    });
    const done = await server.client.getJob(job.id, { wait: 10 });
    expect(done.state).toBe('failed');
    expect(done.commands.every((c) => c.state === 'failed' && c.error?.code === 'nonzero_exit')).toBe(true);
  });

  it('runs at most batchSize nodes at a time', async () => {
    const job = await server.client.createJob({
      target: { nodes: ['alpha', 'beta'] },
      type: 'exec.run',
      payload: { command: 'sleep', args: ['0.3'] },
      batchSize: 1,
    });
    expect(job.counts).toMatchObject({ pending: 1, queued: 1 });
    const done = await server.client.getJob(job.id, { wait: 10 });
    expect(done.state).toBe('succeeded');
    const [c1, c2] = done.commands.sort((x, y) => x.startedAt! - y.startedAt!);
    expect(c2!.startedAt!).toBeGreaterThanOrEqual(c1!.finishedAt!);
  });

  it('cancels a running command and stops its process', async () => {
    const marker = `/tmp/steward-cancel-${process.pid}-${Date.now()}`;
    const { command } = await server.client.submitCommand({
      node: 'alpha',
      type: 'exec.run',
      payload: { command: 'sh', args: ['-c', `echo $$ > ${marker}.pid; sleep 0.2; sleep 30; touch ${marker}`] },
    });
    await waitFor('running', async () => (await server.client.getCommand(command.id)).state === 'running');
    const shell = await waitFor('the shell pid', () => existsSync(`${marker}.pid`) && Number(readFileSync(`${marker}.pid`, 'utf8')));
    const cancelled = await server.client.cancelCommand(command.id);
    expect(cancelled.state).toBe('cancelled');
    const again = await server.client.cancelCommand(command.id).catch((e: unknown) => e);
    expect((again as ApiError).status).toBe(409);
    // The shell that would touch the marker has been stopped, so it never will.
    await waitFor('the command process to be stopped', () => processGone(shell));
    expect(existsSync(marker)).toBe(false);
  });

  it('replays the events a reconnecting client missed (Last-Event-ID)', async () => {
    const first = await server.client.openEvents({ kinds: ['command.state'] });
    const { command: c1 } = await server.client.submitCommand({ node: 'alpha', type: 'sys.ping' });
    let lastId = '';
    for await (const e of first) {
      lastId = e.id;
      if (e.event.kind === 'command.state' && e.event.commandId === c1.id) break;
    }
    first.close();
    // While no one listens:
    const { command: c2 } = await server.client.submitCommand({ node: 'alpha', type: 'sys.ping' });
    await server.client.getCommand(c2.id, { wait: 10 });
    const again = await server.client.openEvents({ kinds: ['command.state'], lastEventId: lastId });
    const states: string[] = [];
    for await (const e of again) {
      if (e.event.kind === 'command.state' && e.event.commandId === c2.id) states.push(e.event.state);
      if (states.includes('succeeded')) break;
    }
    again.close();
    expect(states[0]).toBe('pending');
    expect(states).toContain('succeeded');
  });

  it('times a command out on the agent', async () => {
    const { command } = await server.client.submitCommand({
      node: 'beta',
      type: 'exec.run',
      payload: { command: 'sleep', args: ['10'] },
      timeoutMs: 500,
    });
    const done = await server.client.getCommand(command.id, { wait: 10 });
    expect(done.state).toBe('timed_out');
  });
});
