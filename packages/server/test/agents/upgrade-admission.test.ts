import { connect } from 'node:net';
import WebSocket from 'ws';
import Fastify, { type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import { afterEach, describe, expect, it } from 'vitest';
import { AGENT_CONNECT_PATH, TooManyRequestsError, UnauthorizedError } from '@steward/protocol';
import { websocketTransport } from '../../src/agents/transports/websocket.js';
import type { AgentsBusy, HandshakeTicket } from '../../src/agents/admission.js';
import type { TransportHost } from '../../src/agents/transport.js';
import { installErrorHandling } from '../../src/http/errors.js';

/**
 * The storm's refusal path (docs/reconnect.md): an agent upgrade is admitted when its request
 * head arrives, before Fastify routes it, so a refusal costs no routing, hooks or error object;
 * an admitted upgrade carries its ticket to the route (admitted once, not twice).
 */
describe('agent upgrades are admitted before routing', () => {
  let app: FastifyInstance | null = null;

  afterEach(async () => {
    await app?.close();
    app = null;
  });

  /** A real Fastify with the real websocket transport; the host refuses or admits as told and counts. */
  async function serve(verdict: () => { ticket: HandshakeTicket } | AgentsBusy) {
    const seen = { routed: 0, offers: 0, admits: 0, released: 0, authenticated: 0 };
    app = Fastify();
    installErrorHandling(app);
    await app.register(websocket);
    app.addHook('onRequest', async (req) => {
      seen.routed++;
      // As the auth-failure throttle does (http/auth-failures.ts): refused before the route's own hooks.
      if (req.headers['x-throttled']) throw new TooManyRequestsError('too_many_auth_failures', 'throttled', 60);
    });
    const host: TransportHost = {
      offer: () => {
        seen.offers++;
        return verdict();
      },
      admit: () => {
        seen.admits++;
        return { release: () => seen.released++ };
      },
      authenticate: async () => {
        seen.authenticated++;
        throw new UnauthorizedError('node credential is not valid');
      },
      attach: () => {
        throw new Error('not reached: every credential is refused');
      },
    };
    websocketTransport({ sendBufferBytes: 1 << 20 }).install(app, host);
    app.get('/healthz', async () => ({ status: 'ok' }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as { port: number }).port;
    return { seen, port };
  }

  const upgrade = (port: number, path = AGENT_CONNECT_PATH, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: { authorization: 'Bearer node_x.nope', ...headers } });
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString('utf8')));
        res.on('end', () => {
          resolve({ status: res.statusCode!, headers: res.headers, body });
          ws.terminate();
        });
      });
      ws.on('open', () => reject(new Error('upgraded')));
      ws.on('error', () => {});
    });

  it('refuses with 503 agents_busy and Retry-After on the raw socket, without routing the request', async () => {
    const { seen, port } = await serve(() => ({ reason: 'rate', retryAfterSeconds: 7 }));
    const a = await upgrade(port);
    expect(a.status).toBe(503);
    expect(a.headers['retry-after']).toBe('7');
    expect(a.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(a.body)).toEqual({ error: { code: 'agents_busy', message: expect.stringContaining('Retry-After'), details: { retryAfterSeconds: 7, reason: 'rate' } } });
    // With a query string too (the path is matched, not the whole URL).
    expect((await upgrade(port, `${AGENT_CONNECT_PATH}?x=1`)).status).toBe(503);
    expect(seen).toMatchObject({ offers: 2, routed: 0, authenticated: 0, admits: 0 });
    // The server keeps answering other requests on the same port.
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it('hands an admitted upgrade its ticket (admitted once), and frees it when the credential is refused', async () => {
    let released = 0;
    const { seen, port } = await serve(() => ({ ticket: { release: () => released++ } }));
    const a = await upgrade(port);
    expect(a.status).toBe(401);
    expect(seen).toMatchObject({ offers: 1, admits: 0, routed: 1, authenticated: 1 });
    // Freed by the refusal (and again, harmlessly, by the socket's close: the real ticket is idempotent).
    await expect.poll(() => released).toBeGreaterThanOrEqual(1);
  });

  it('frees the ticket of an admitted upgrade that an earlier hook refused, though its client keeps the connection open', async () => {
    let released = 0;
    const { seen, port } = await serve(() => ({ ticket: { release: () => released++ } }));
    const socket = connect({ host: '127.0.0.1', port });
    try {
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString('utf8')));
      socket.write(`GET ${AGENT_CONNECT_PATH} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nx-throttled: 1\r\n\r\n`);
      await expect.poll(() => answer).toMatch(/^HTTP\/1\.1 429/);
      expect(seen).toMatchObject({ offers: 1, routed: 1, authenticated: 0 });
      // Freed once answered, not when the (possibly hostile) client closes, or a 30 s TTL ends.
      await expect.poll(() => released).toBe(1);
    } finally {
      socket.destroy();
    }
  });

  it('leaves upgrades to other paths to the router, unadmitted', async () => {
    const { seen, port } = await serve(() => ({ reason: 'rate', retryAfterSeconds: 7 }));
    const a = await upgrade(port, `${AGENT_CONNECT_PATH}-not`);
    expect(a.status).toBe(404);
    expect(seen).toMatchObject({ offers: 0, routed: 1 });
  });
});
