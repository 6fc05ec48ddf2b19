import { readFileSync } from 'node:fs';
import type WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StewardEvent } from '@steward/protocol';
import { configRevision } from '@steward/protocol/node';
import { StewardClient } from '@steward/client';
import { startServer, type ControlPlane } from '../../src/control-plane.js';
import { getNodeConfigStatus } from '../../src/store/queries/agent-config.js';
import { tempDir } from '../../../../test/support/processes.js';
import { waitFor } from '../../../../test/support/wait.js';
import { rawAgent } from '../../../../test/support/raw-agent.js';

/**
 * The agent-config API on a whole control plane (this process, SQLite, real sockets on
 * loopback), with raw agent sockets that play the agent's side of `config.desired` /
 * `config.status`; the real agent's side is tested end to end in test/e2e.
 */

const OFFLINE_AFTER_MS = 30_000;

describe('agent-config API and push', { timeout: 60_000 }, () => {
  let server: ControlPlane;
  let client: StewardClient;
  let reader: StewardClient;
  const events: StewardEvent[] = [];
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    server = await startServer({ listen: '127.0.0.1:0', dataDir: tempDir('steward-agent-config-'), logLevel: 'error', offlineAfterMs: OFFLINE_AFTER_MS, sweepIntervalMs: 300 });
    client = new StewardClient({ baseUrl: server.url, token: readFileSync(server.adminTokenPath, 'utf8').trim() });
    reader = new StewardClient({ baseUrl: server.url, token: (await client.createToken({ name: 'ro', role: 'reader' })).token });
    server.ctx.bus.subscribe(({ event }) => events.push(event));
  }, 60_000);

  afterAll(async () => {
    for (const ws of sockets) ws.terminate();
    await server?.close();
  });

  const connect = async (name: string, labels: Record<string, string> = {}) => {
    const a = await rawAgent(server.url, client, name, labels);
    sockets.push(a.ws);
    return a;
  };

  const codeOf = async (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code);

  it('a node no document targets gets config {} right after welcome; a PUT pushes the new effective config, which the node view explains', async () => {
    const agent = await connect('web-1', { role: 'web' });
    const first = await agent.next('config.desired');
    expect(first).toEqual({ type: 'config.desired', revision: configRevision({}), config: {} });
    expect(agent.order.slice(0, 2)).toEqual(['welcome', 'config.desired']);

    const base = await client.putAgentConfig('base', { target: { all: true }, priority: 0, config: { heartbeatIntervalMs: 5000, logLevel: 'info' } });
    expect(base).toMatchObject({ name: 'base', version: 1, priority: 0, updatedBy: 'admin' });
    await agent.next('config.desired', (m) => m.config.heartbeatIntervalMs === 5000);
    await client.putAgentConfig('web', { target: { selector: 'role=web' }, priority: 10, config: { logLevel: 'debug', fs: { roots: ['/srv'] } } });
    const pushed = await agent.next('config.desired', (m) => m.config.logLevel === 'debug');
    expect(pushed.config).toEqual({ heartbeatIntervalMs: 5000, logLevel: 'debug', fs: { roots: ['/srv'] } });

    const view = await client.nodeConfig('web-1');
    expect(view).toMatchObject({
      nodeId: agent.nodeId,
      revision: pushed.revision,
      config: pushed.config,
      sources: { heartbeatIntervalMs: 'base', logLevel: 'web', 'fs.roots': 'web' },
      documents: ['base', 'web'],
      applied: { revision: pushed.revision, state: 'pending' },
      inSync: false,
    });
    expect(view.revision).toBe(configRevision(pushed.config));

    agent.send({ type: 'config.status', revision: pushed.revision, state: 'applied', at: Date.now() });
    await waitFor('the node.config event', () => events.find((e) => e.kind === 'node.config' && e.nodeId === agent.nodeId && e.revision === pushed.revision));
    expect(await client.nodeConfig(agent.nodeId)).toMatchObject({ applied: { revision: pushed.revision, state: 'applied' }, inSync: true });

    // The same content again: a new version of the document, the same revision, nothing pushed.
    const again = await client.putAgentConfig('web', { target: { selector: 'role=web' }, priority: 10, config: { fs: { roots: ['/srv'] }, logLevel: 'debug' } });
    expect(again.version).toBe(2);
    expect((await client.nodeConfig('web-1')).revision).toBe(pushed.revision);
    const marker = await client.putAgentConfig('marker', { target: { nodes: ['web-1'] }, priority: 99, config: { capabilities: ['m'] } });
    expect(marker.version).toBe(1);
    await agent.next('config.desired', (m) => m.config.capabilities?.[0] === 'm');
    expect(agent.inbox.filter((m) => m.type === 'config.desired')).toEqual([]);
  });

  it('a rejection is stored with its reason and fields; a relabel or a delete pushes the changed config', async () => {
    const agent = await connect('db-1', { role: 'db' });
    const first = await agent.next('config.desired');
    expect(first.config).toEqual({ heartbeatIntervalMs: 5000, logLevel: 'info' });
    const issues = [{ field: 'moduleSettings.monitor.checks[0].interval', rule: 'must be a duration' }];
    agent.send({ type: 'config.status', revision: first.revision, state: 'rejected', reason: 'bad monitor settings', issues, at: Date.now() });
    await waitFor('the rejection event', () => events.find((e) => e.kind === 'node.config' && e.nodeId === agent.nodeId && e.state === 'rejected'));
    expect((await client.nodeConfig('db-1')).applied).toMatchObject({ revision: first.revision, state: 'rejected', reason: 'bad monitor settings', issues });
    // An older answer arriving late changes nothing.
    agent.send({ type: 'config.status', revision: first.revision, state: 'applied', at: 1 });
    agent.send({ type: 'config.status', revision: first.revision, state: 'rejected', reason: 'still bad', at: Date.now() + 1 });
    await waitFor('the later answer', () => events.find((e) => e.kind === 'node.config' && e.nodeId === agent.nodeId && e.reason === 'still bad'));
    expect((await client.nodeConfig('db-1')).applied?.state).toBe('rejected');

    await client.patchNode('db-1', { labels: { role: 'web' } });
    const relabelled = await agent.next('config.desired', (m) => m.config.logLevel === 'debug');
    expect((await client.nodeConfig('db-1')).documents).toEqual(['base', 'web']);
    await client.deleteAgentConfig('web');
    const after = await agent.next('config.desired', (m) => m.revision !== relabelled.revision);
    expect(after.config).toEqual({ heartbeatIntervalMs: 5000, logLevel: 'info' });
    expect(await codeOf(client.getAgentConfig('web'))).toBe('not_found');

    // A deleted node's status goes with it.
    expect(await getNodeConfigStatus(server.ctx.store.db, agent.nodeId)).toBeDefined();
    await client.deleteNode('db-1', { force: true });
    await waitFor('the status row gone', async () => (await getNodeConfigStatus(server.ctx.store.db, agent.nodeId)) === undefined);
  });

  it('refuses bad documents with 400 naming the field and changes nothing; readers may read but not write', async () => {
    const before = await client.listAgentConfigs();
    const put = (name: string, body: unknown) => codeOf(client.putAgentConfig(name, body as never));
    expect(await put('bad-sel', { target: { selector: 'role=web,=db' }, priority: 0, config: {} })).toBe('validation_failed');
    expect(await put('bad-key', { target: { all: true }, priority: 0, config: { dataDir: '/tmp' } })).toBe('validation_failed');
    expect(await put('bad-mod', { target: { all: true }, priority: 0, config: { modules: ['sys', '+nginx'] } })).toBe('validation_failed');
    expect(await put('Bad Name', { target: { all: true }, priority: 0, config: {} })).toBe('validation_failed');
    expect(await put('bad-target', { target: { all: true, nodes: ['x'] }, priority: 0, config: {} })).toBe('validation_failed');
    expect(await put('bad-url', { target: { all: true }, priority: 0, config: { servers: ['ftp://x'] } })).toBe('validation_failed');
    const slow = await client.putAgentConfig('slow', { target: { all: true }, priority: 0, config: { heartbeatIntervalMs: OFFLINE_AFTER_MS / 3 + 1 } }).catch((e) => e);
    expect(slow).toMatchObject({ status: 400, code: 'validation_failed', details: { issues: [{ field: 'config.heartbeatIntervalMs' }] } });
    expect(slow.message).toContain('offline');
    expect(await client.listAgentConfigs()).toEqual(before);

    expect(await codeOf(reader.putAgentConfig('ro', { target: { all: true }, priority: 0, config: {} }))).toBe('forbidden');
    expect(await codeOf(reader.deleteAgentConfig('base'))).toBe('forbidden');
    expect((await reader.listAgentConfigs()).items.map((d) => d.name)).toEqual(before.items.map((d) => d.name));
    expect((await reader.getAgentConfig('base')).name).toBe('base');
    expect(await codeOf(client.deleteAgentConfig('nope'))).toBe('not_found');
    expect(await codeOf(client.nodeConfig('no-such-node'))).toBe('not_found');
  });
});
