import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Node } from '@steward/protocol';
import { BackupXAgent, type AgentCommand } from '../support/backupx-agent.js';
import { startServerProcess, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/**
 * BackupX agents against a real control plane over HTTP on 127.0.0.1: they join with a Steward
 * enrollment token, appear as `backupx` nodes, and run the dashboard's `fs.list` as `list_dir`.
 * The agent is the test client written from BackupX's description; the silence is shortened.
 */
describe('BackupX agents as Steward nodes', { timeout: 60_000 }, () => {
  let server: ServerProc;
  let dir: string;
  const agents: BackupXAgent[] = [];

  beforeAll(async () => {
    server = await startServerProcess({ env: { STEWARD_BACKUPX_SILENCE_MS: '1500' } });
    dir = mkdtempSync(join(tmpdir(), 'steward-backupx-'));
    writeFileSync(join(dir, 'b.txt'), 'hello');
    writeFileSync(join(dir, 'a.tar.gz'), 'x'.repeat(1234));
    mkdirSync(join(dir, 'sub'));
  }, 90_000);

  afterEach(() => {
    for (const a of agents.splice(0)) a.stop();
  });

  afterAll(async () => {
    await server?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  async function newAgent(hostname: string, opts: { uses?: number; labels?: Record<string, string> } = {}): Promise<{ agent: BackupXAgent; tokenId: string }> {
    const { id, token } = await server.client.createEnrollmentToken({ uses: opts.uses ?? 1, labels: opts.labels });
    const agent = new BackupXAgent({ master: server.url, token, hostname, heartbeatMs: 400, pollMs: 150 });
    agents.push(agent);
    return { agent, tokenId: id };
  }

  const node = (name: string) => server.client.getNode(name);

  /** A node's messages are handled in order: once a later command's result is stored, what the agent sent before was seen. */
  async function laterCommandDone(agent: BackupXAgent, nodeName: string): Promise<void> {
    const { command } = await server.client.submitCommand({ node: nodeName, type: 'fs.list', payload: { path: dir } });
    const taken = await waitFor('the later list_dir', async () => (await agent.poll()).body.data?.command);
    await agent.submitResult(taken.id, true, '', { entries: [] });
    expect((await server.client.getCommand(command.id, { wait: 15 })).state).toBe('succeeded');
  }
  const backupxNodes = async () => (await server.client.listNodes()).items.filter((n: Node) => n.protocol === 'backupx');

  it('joins with a fresh enrollment token as an online backupx node, and a second heartbeat is the same node', async () => {
    const { agent, tokenId } = await newAgent('bx-join', { uses: 2, labels: { team: 'backup' } });
    const first = await agent.heartbeat();
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ code: 'OK', message: 'success', data: { status: 'ok', name: 'bx-join', nodeId: expect.any(Number) } });
    const joined = await waitFor('the node online', async () => {
      const n = await node('bx-join');
      return n.status === 'online' && n;
    });
    expect(joined).toMatchObject({ protocol: 'backupx', labels: { team: 'backup' }, hostname: 'bx-join', addresses: ['10.1.2.3'], arch: 'amd64', agentVersion: 'v1.4.0', heartbeatIntervalMs: 15_000 });
    expect(joined.commandTypes.map((t) => t.type)).toEqual(['fs.list']);

    const second = await agent.heartbeat();
    expect(second.body.data).toEqual(first.body.data);
    expect((await backupxNodes()).filter((n) => n.hostname === 'bx-join')).toHaveLength(1);
    const token = (await server.client.listEnrollmentTokens()).items.find((t) => t.id === tokenId)!;
    expect(token.usesLeft).toBe(1);
  });

  it('refuses a wrong, missing or unknown token in the envelope with 401 and makes no node', async () => {
    const { agent, tokenId } = await newAgent('bx-wrong');
    const before = (await backupxNodes()).length;
    const wrong = new BackupXAgent({ master: server.url, token: `${tokenId}.wrong-secret`, hostname: 'bx-wrong' });
    for (const reply of [await wrong.heartbeat(), await wrong.poll(), await agent.request('/api/agent/heartbeat', '{}', {}), await new BackupXAgent({ master: server.url, token: 'nonsense' }).heartbeat()]) {
      expect(reply.status).toBe(401);
      expect(reply.body).toMatchObject({ code: 'NODE_INVALID_TOKEN', message: expect.any(String) });
      expect(reply.body.data).toBeUndefined();
    }
    // A token with no node yet cannot poll: the agent joins with its heartbeat.
    expect((await agent.poll()).body.code).toBe('NODE_INVALID_TOKEN');
    expect((await backupxNodes()).length).toBe(before);
    expect((await server.client.listEnrollmentTokens()).items.find((t) => t.id === tokenId)!.usesLeft).toBe(1);
  });

  it("runs fs.list submitted through Steward's API as list_dir and stores fs.list's result shape", async () => {
    const { agent } = await newAgent('bx-files');
    await agent.start();
    await waitFor('online', async () => (await node('bx-files')).status === 'online');
    const { command } = await server.client.submitCommand({ node: 'bx-files', type: 'fs.list', payload: { path: dir } });
    const done = await server.client.getCommand(command.id, { wait: 15 });
    expect(done.state).toBe('succeeded');
    expect(done.result).toEqual({
      path: dir,
      entries: [
        { name: 'a.tar.gz', type: 'file', size: 1234, mode: '', mtime: 0 },
        { name: 'b.txt', type: 'file', size: 5, mode: '', mtime: 0 },
        { name: 'sub', type: 'directory', size: 0, mode: '', mtime: 0 },
      ],
      truncated: false,
    });
    expect(agent.handled.map((h) => [h.command.type, h.command.payload])).toEqual([['list_dir', { path: dir }]]);

    // A directory the agent cannot read fails with fs.list's code for it; the limit truncates.
    const missing = (await server.client.submitCommand({ node: 'bx-files', type: 'fs.list', payload: { path: join(dir, 'nope') } })).command;
    expect(await server.client.getCommand(missing.id, { wait: 15 })).toMatchObject({ state: 'failed', error: { code: 'not_found', details: { path: join(dir, 'nope') } } });
    const limited = (await server.client.submitCommand({ node: 'bx-files', type: 'fs.list', payload: { path: dir, limit: 2 } })).command;
    expect(await server.client.getCommand(limited.id, { wait: 15 })).toMatchObject({ state: 'succeeded', result: { truncated: true, entries: [{ name: 'a.tar.gz' }, { name: 'b.txt' }] } });
  });

  it('refuses at submission a command type a BackupX agent cannot carry', async () => {
    const { agent } = await newAgent('bx-exec');
    await agent.heartbeat();
    await expect(server.client.submitCommand({ node: 'bx-exec', type: 'exec.run', payload: { command: 'true' } })).rejects.toMatchObject({ status: 400, code: 'unknown_command_type' });
    await expect(server.client.submitCommand({ node: 'bx-exec', type: 'fs.list', payload: { path: 'relative' } })).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('takes one result per command: a repeated result changes nothing, an unknown id is 404', async () => {
    const { agent } = await newAgent('bx-dup');
    await agent.heartbeat();
    const { command } = await server.client.submitCommand({ node: 'bx-dup', type: 'fs.list', payload: { path: dir } });
    const taken = await waitFor('the poll to hand out list_dir', async () => (await agent.poll()).body.data?.command);
    expect(taken).toMatchObject({ type: 'list_dir', payload: { path: dir }, id: expect.any(Number) } satisfies Partial<AgentCommand>);
    await waitFor('running', async () => (await server.client.getCommand(command.id)).state === 'running');
    const entries = [{ name: 'one', path: `${dir}/one`, isDir: false, size: 1 }];
    expect((await agent.submitResult(taken.id, true, '', { entries })).body).toMatchObject({ code: 'OK', data: { status: 'ok' } });
    const stored = await server.client.getCommand(command.id, { wait: 15 });
    expect(stored).toMatchObject({ state: 'succeeded', result: { entries: [{ name: 'one' }] } });

    const again = await agent.submitResult(taken.id, false, 'late failure');
    expect(again).toMatchObject({ status: 200, body: { code: 'OK' } });
    await laterCommandDone(agent, 'bx-dup');
    expect(await server.client.getCommand(command.id)).toEqual(stored);
    const unknown = await agent.submitResult(taken.id + 1, true, '', { entries: [] });
    expect(unknown).toMatchObject({ status: 404, body: { code: 'AGENT_COMMAND_NOT_FOUND' } });
  });

  it("times a handed-out command out on Steward's command timeout, as BackupX times out a dispatched one; a late result changes nothing", async () => {
    const { agent } = await newAgent('bx-late');
    await agent.heartbeat();
    const { command } = await server.client.submitCommand({ node: 'bx-late', type: 'fs.list', payload: { path: dir }, timeoutMs: 300 });
    const taken = await waitFor('list_dir handed out', async () => (await agent.poll()).body.data?.command);
    const ended = await waitFor('timed out', async () => {
      await agent.heartbeat(); // the agent stays alive; only the command is late
      const c = await server.client.getCommand(command.id);
      return c.state === 'timed_out' && c;
    });
    expect(ended.error).toMatchObject({ code: 'timed_out' });
    expect((await agent.submitResult(taken.id, true, '', { entries: [] })).status).toBe(200);
    await laterCommandDone(agent, 'bx-late');
    expect(await server.client.getCommand(command.id)).toEqual(ended);
  });

  it('goes offline when the agent falls silent, and comes back as the same node', async () => {
    const { agent } = await newAgent('bx-silent');
    const { body } = await agent.heartbeat();
    await waitFor('online', async () => (await node('bx-silent')).status === 'online');
    const offline = await waitFor('offline after the silence', async () => {
      const n = await node('bx-silent');
      return n.status === 'offline' && n;
    });
    expect(offline.connected).toBe(false);
    expect((await agent.heartbeat()).body.data).toEqual(body.data);
    await waitFor('online again', async () => (await node('bx-silent')).status === 'online');
  });

  it('answers bad bodies with the envelope and 400, and nothing changes', async () => {
    const { agent, tokenId } = await newAgent('bx-bad');
    const bad = [
      await agent.request('/api/agent/heartbeat', '{"hostname": 5}'),
      await agent.request('/api/agent/heartbeat', '{"hostname": "x"'),
      await agent.request('/api/agent/heartbeat', '[1, 2]'),
    ];
    for (const r of bad) expect(r).toMatchObject({ status: 400, body: { code: 'INVALID_INPUT', message: expect.any(String) } });
    // None of them joined: the token still has its use.
    expect((await server.client.listEnrollmentTokens()).items.find((t) => t.id === tokenId)!.usesLeft).toBe(1);
    expect(await agent.request('/api/agent/heartbeat', JSON.stringify({ hostname: 'h'.repeat(20_000) }))).toMatchObject({ status: 413, body: { code: 'PAYLOAD_TOO_LARGE' } });

    await agent.heartbeat();
    const { command } = await server.client.submitCommand({ node: 'bx-bad', type: 'fs.list', payload: { path: dir } });
    const taken = await waitFor('list_dir handed out', async () => (await agent.poll()).body.data?.command);
    const results = [
      await agent.request(`/api/agent/commands/${taken.id}/result`, '{"success": "yes"}'),
      await agent.request(`/api/agent/commands/${taken.id}/result`, 'not json'),
      await agent.request(`/api/agent/commands/${taken.id}/result`),
      await agent.request('/api/agent/commands/abc/result', '{"success": true}'),
      await agent.submitResult(taken.id, true, '', { entries: [{ name: '', isDir: 'no' }] }),
      await agent.submitResult(taken.id, true, '', 'not a listing'),
    ];
    for (const r of results) expect(r).toMatchObject({ status: 400, body: { code: 'INVALID_INPUT' } });
    // The command still waits for a real result, and takes it.
    expect((await server.client.getCommand(command.id)).state).toBe('running');
    expect((await agent.submitResult(taken.id, true, '', { entries: null })).status).toBe(200);
    expect(await server.client.getCommand(command.id, { wait: 15 })).toMatchObject({ state: 'succeeded', result: { entries: [], truncated: false } });
  });

  it('refuses the token of a deleted node, and keeps serving the node of an expired token', async () => {
    const { agent: keeper, tokenId } = await newAgent('bx-keep');
    await keeper.heartbeat();
    await server.client.deleteEnrollmentToken(tokenId);
    expect((await keeper.heartbeat()).status).toBe(200);
    expect((await keeper.poll()).body).toEqual({ code: 'OK', message: 'success', data: { command: null } });

    const { agent } = await newAgent('bx-deleted', { uses: 3 });
    await agent.heartbeat();
    await server.client.deleteNode('bx-deleted', { force: true });
    const refused = await agent.heartbeat();
    expect(refused).toMatchObject({ status: 401, body: { code: 'NODE_DELETED' } });
    expect((await agent.poll()).status).toBe(401);
    expect((await backupxNodes()).some((n) => n.hostname === 'bx-deleted')).toBe(false);
  });
});
