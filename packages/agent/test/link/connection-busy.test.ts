import { createServer, type Server } from 'node:http';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { AGENT_CONNECT_PATH } from '@steward/protocol';
import { AgentConnection } from '../../src/connection.js';
import { ServerList } from '../../src/link/server-list.js';
import { tempDir } from '../modules/context.js';
import { waitFor } from '../../../../test/support/wait.js';

const log = pino({ level: 'silent' });
const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/**
 * A control plane admitting a reconnect storm (docs/reconnect.md): the first `refusals` dials get
 * 503 `agents_busy` with `Retry-After: 1` before the upgrade, later ones are welcomed.
 */
async function busyServer(refusals: number): Promise<{ url: string; dials: number[]; close(): Promise<void> }> {
  const dials: number[] = [];
  const wss = new WebSocketServer({ noServer: true });
  const http: Server = createServer();
  http.on('upgrade', (req, socket, head) => {
    dials.push(Date.now());
    if (dials.length <= refusals) {
      const body = JSON.stringify({ error: { code: 'agents_busy', message: 'busy', details: { retryAfterSeconds: 1 } } });
      socket.end(`HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => ws.send(JSON.stringify({ type: 'welcome', nodeId: 'node_1', name: 'n', heartbeatIntervalMs: 1000, serverTime: Date.now() })));
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const close = () =>
    new Promise<void>((done) => {
      for (const c of wss.clients) c.terminate();
      http.closeAllConnections();
      http.close(() => done());
    });
  cleanup.push(close);
  return { url: `http://127.0.0.1:${(http.address() as { port: number }).port}`, dials, close };
}

describe('an agent refused with 503 + Retry-After', { timeout: 30_000 }, () => {
  it('waits the Retry-After instead of its own backoff draw, then connects', async () => {
    const server = await busyServer(2);
    const servers = new ServerList({ dataDir: await tempDir(), local: [server.url], pinned: false, log });
    let welcomed = 0;
    // A backoff of ten minutes: only the Retry-After (1 s) can bring the agent back within this test.
    const conn: AgentConnection = new AgentConnection(
      { servers, credential: 'c', initialDelayMs: 600_000, maxDelayMs: 600_000, keepaliveMs: 60_000, log },
      {
        open: () => {},
        message: (m) => {
          if (m.type === 'welcome') welcomed++;
        },
        closed: () => {},
      },
    );
    cleanup.push(() => conn.stop());
    conn.start();
    await waitFor('the welcome after two refusals', () => welcomed === 1, { timeoutMs: 20_000 });
    expect(server.dials).toHaveLength(3);
    // Never sooner than asked (1 s); the dial path itself is not timed.
    for (let i = 1; i < server.dials.length; i++) expect(server.dials[i]! - server.dials[i - 1]!).toBeGreaterThanOrEqual(990);
  });
});
