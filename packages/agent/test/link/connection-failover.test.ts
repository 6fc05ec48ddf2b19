import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { AGENT_CONNECT_PATH } from '@steward/protocol';
import { AgentConnection } from '../../src/connection.js';
import { ServerList, type ProposalOutcome } from '../../src/link/server-list.js';
import { tempDir } from '../modules/context.js';
import { freePort } from '../../../../test/support/processes.js';
import { waitFor } from '../../../../test/support/wait.js';

const log = pino({ level: 'silent' });
const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A loopback WebSocket endpoint standing in for one control-plane replica: it welcomes whoever connects. */
async function replica(): Promise<{ url: string; connections: number; sockets: Set<WebSocket>; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: AGENT_CONNECT_PATH });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const r = {
    url: `http://127.0.0.1:${(wss.address() as { port: number }).port}`,
    connections: 0,
    sockets: new Set<WebSocket>(),
    /** Like kill -9: every socket dropped, nothing listening any more. */
    close: () =>
      new Promise<void>((done) => {
        for (const s of r.sockets) s.terminate();
        wss.close(() => done());
      }),
  };
  wss.on('connection', (s) => {
    r.connections++;
    r.sockets.add(s);
    s.on('close', () => r.sockets.delete(s));
    s.send(JSON.stringify({ type: 'welcome', nodeId: 'node_1', name: 'n', heartbeatIntervalMs: 1000, serverTime: Date.now() }));
  });
  cleanup.push(() => r.close());
  return r;
}


async function connect(local: string[]) {
  const servers = new ServerList({ dataDir: await tempDir(), local, pinned: false, log });
  const welcomes: string[] = [];
  const outcomes: ProposalOutcome[] = [];
  servers.onOutcome((o) => outcomes.push(o));
  let conn!: AgentConnection;
  conn = new AgentConnection(
    { servers, credential: 'c', initialDelayMs: 50, maxDelayMs: 200, keepaliveMs: 60_000, log },
    {
      open: () => {},
      message: (m) => {
        if (m.type !== 'welcome') return;
        welcomes.push(servers.current);
        conn.healthy();
      },
      closed: () => {},
    },
  );
  conn.start();
  cleanup.push(() => conn.stop());
  return { servers, conn, welcomes, outcomes };
}

describe('the agent connection over a server list', () => {
  it('skips a server that refuses, and moves to the next one when its server goes away', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const [a, b] = [await replica(), await replica()];
    const { welcomes, conn } = await connect([dead, a.url, b.url]);
    await waitFor('welcomed by a', () => welcomes[0] === a.url);
    expect(conn.connected).toBe(true);
    const lostAt = Date.now();
    await a.close();
    await waitFor('welcomed by b', () => welcomes.includes(b.url), { timeoutMs: 5000 });
    // The first retry after a healthy connection is small: well under the 200 ms cap here.
    expect(Date.now() - lostAt).toBeLessThan(2000);
    expect(b.connections).toBe(1);
  });

  it('a pushed list that cannot be reached brings the agent back to its server, and a good one is kept', async () => {
    const [a, b] = [await replica(), await replica()];
    const { servers, welcomes, outcomes } = await connect([a.url]);
    await waitFor('welcomed by a', () => welcomes.length === 1);
    servers.propose([`http://127.0.0.1:${await freePort()}`, `http://127.0.0.1:${await freePort()}`]);
    await waitFor('reverted', () => outcomes.length === 1, { timeoutMs: 5000 });
    expect(outcomes[0]).toMatchObject({ state: 'reverted', servers: [a.url] });
    await waitFor('welcomed by a again', () => welcomes.length === 2, { timeoutMs: 5000 });
    expect(welcomes).toEqual([a.url, a.url]);
    expect(a.connections).toBe(2);

    servers.propose([b.url]);
    await waitFor('committed', () => outcomes.length === 2, { timeoutMs: 5000 });
    expect(outcomes[1]).toEqual({ state: 'committed', servers: [b.url], via: b.url });
    expect(welcomes.at(-1)).toBe(b.url);
    // The agent left a: no socket of it stays open.
    await waitFor('a has no agent socket', () => a.sockets.size === 0);
  });
});
