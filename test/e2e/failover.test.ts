import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPgDatabase } from '../support/pg.js';
import { freePort, heartbeatsAfter, startAgentProcess, startServerProcess, waitOnline, type AgentProc, type ServerProc } from '../support/processes.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';

const lines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);


/**
 * Issue 15 item 4: an agent given two control-plane replicas (one PostgreSQL) moves to the other
 * when the one it is on is killed, and a command submitted meanwhile runs once; a pushed list
 * replaces its list only once a server of it answered.
 */
describe('server list failover between two replicas', { timeout: 60_000 }, () => {
  let db: Awaited<ReturnType<typeof freshPgDatabase>>;
  let a: ServerProc;
  let b: ServerProc;
  let agent: AgentProc;
  /** The agent reaches b through this, so the test can hold it off b for a moment. */
  let toB: TcpProxy;

  beforeAll(async () => {
    db = await freshPgDatabase();
    a = await startServerProcess({ db: db.url });
    b = await startServerProcess({ db: db.url, token: a.token, signingKeyFrom: a.dataDir });
    toB = new TcpProxy(b.port);
    await toB.start();
    const { token } = await a.client.createEnrollmentToken({});
    // The list from the config file (flags would pin it against pushed lists): a first, then b.
    // The test agents' reconnect backoff is 100 ms → 500 ms.
    agent = startAgentProcess({ token, name: 'listed', config: `servers: [${a.url}, http://127.0.0.1:${toB.port}]\n` });
    await waitOnline(a, 'listed', agent);
  }, 60_000);

  afterAll(async () => {
    await agent?.kill();
    await toB?.stop();
    await Promise.all([a?.kill('SIGKILL'), b?.kill()]);
    await db?.drop();
  });

  it('enrolled through the first server of the list, and is connected to it', async () => {
    const identity = JSON.parse(readFileSync(join(agent.dataDir, 'identity.json'), 'utf8')) as { server: string };
    expect(identity.server).toBe(a.url);
    expect(agent.output()).toMatch(/"servers":\[[^\]]*127\.0\.0\.1/);
    await waitFor('the welcome in the agent log', () => agent.output().includes('connected to the control plane'));
  });

  it('kill -9 of its replica: it moves to the other within the backoff window, and a command submitted meanwhile runs once', async () => {
    const effect = join(agent.dataDir, 'effect.txt');
    // b turns the agent away for a moment, so the command is surely submitted before the agent is on b.
    await toB.cut();
    await a.kill('SIGKILL');
    const killedAt = Date.now();
    const { command } = await b.client.submitCommand({
      node: 'listed',
      type: 'exec.run',
      payload: { command: 'sh', args: ['-c', `echo ran >> ${effect}`] },
    });
    // The agent moved on to the next server of its list at once (first retry ≤ 100 ms here, ≤ 1 s by default).
    const triedB = await waitFor('the agent dialling b', () => toB.refused > 0 && Date.now(), { timeoutMs: 10_000, intervalMs: 20 });
    expect(triedB - killedAt).toBeLessThan(5000);
    expect(['pending', 'dispatched']).toContain((await b.client.getCommand(command.id)).state);
    await toB.restore();
    const restoredAt = Date.now();
    // A heartbeat stored after the kill can only have come through b, after its welcome.
    const movedAt = await waitFor('a heartbeat through b', async () => {
      const at = (await b.client.getNode('listed')).lastSeenAt;
      return at !== null && at > restoredAt && Date.now();
    }, { timeoutMs: 15_000, intervalMs: 50 });
    // Dialling keeps alternating a → b within the backoff cap (500 ms here); the rest is a loaded machine.
    expect(movedAt - restoredAt).toBeLessThan(8000);
    await waitFor('the second welcome in the agent log', () => agent.output().match(/connected to the control plane/g)?.length === 2);
    const done = await b.client.getCommand(command.id, { wait: 20 });
    expect(done.state).toBe('succeeded');
    // Caught up: anything the control plane would still send (a redelivery) has been handled.
    await heartbeatsAfter(b, 'listed', done.finishedAt!);
    expect(lines(effect)).toEqual(['ran']);
    const node = await b.client.getNode('listed');
    expect(node.connected).toBe(true);
    expect(node.status).toBe('online');
  });

  it('a pushed list none of whose servers answers is given up: back on its server, and the node shows config rejected', async () => {
    const dead = [`http://127.0.0.1:${await freePort()}`, `http://127.0.0.1:${await freePort()}`];
    const before = Date.now();
    await b.client.putAgentConfig('servers', { target: { all: true }, priority: 0, config: { servers: dead } });
    const view = await waitFor('the agent to report the list rejected', async () => {
      const v = await b.client.nodeConfig('listed');
      return v.applied?.state === 'rejected' && v.applied.revision === v.revision && v;
    }, { timeoutMs: 20_000, intervalMs: 100 });
    expect(view.applied?.reason).toMatch(/^servers: no server of the pushed list/);
    expect(view.applied?.issues?.map((i) => i.field)).toEqual(['servers']);
    expect(view.config.servers).toEqual(dead);
    // Back on b (through the proxy), where it was: heartbeats flow, and nothing was stored.
    await heartbeatsAfter(b, 'listed', before);
    expect((await b.client.getNode('listed')).connected).toBe(true);
    expect(existsSync(join(agent.dataDir, 'servers.json'))).toBe(false);
    expect(agent.output()).toContain('no server of the pushed list');
  });

  it('a pushed list with a reachable server replaces the list once it answered, and survives a restart', async () => {
    await b.client.putAgentConfig('servers', { target: { all: true }, priority: 0, config: { servers: [b.url] } });
    const view = await waitFor('the new list applied', async () => {
      const v = await b.client.nodeConfig('listed');
      return v.applied?.state === 'applied' && v.applied.revision === v.revision && v;
    }, { timeoutMs: 20_000, intervalMs: 100 });
    expect(view.config.servers).toEqual([b.url]);
    const stored = () => JSON.parse(readFileSync(join(agent.dataDir, 'servers.json'), 'utf8')) as { servers: string[] };
    expect(stored().servers).toEqual([b.url]);
    // Off the proxy: cutting it no longer matters to the agent.
    await toB.cut();
    const cutAt = Date.now();
    await heartbeatsAfter(b, 'listed', cutAt);

    // A restart comes back on the stored list, though its file still names a (dead) and the cut proxy.
    await agent.kill();
    const refusedBefore = toB.refused;
    const restartedAt = Date.now();
    agent = startAgentProcess({ name: 'listed', dataDir: agent.dataDir, config: `servers: [${a.url}, http://127.0.0.1:${toB.port}]\n` });
    await waitFor('the restarted agent on b', async () => {
      const at = (await b.client.getNode('listed')).lastSeenAt;
      return at !== null && at > restartedAt;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    expect(agent.output()).toContain('using the server list pushed earlier');
    // Straight to b: the restarted agent did not dial its file's list (the cut proxy turns nobody away).
    expect(toB.refused).toBe(refusedBefore);
  });
});
