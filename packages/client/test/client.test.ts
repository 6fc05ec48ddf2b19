import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../src/api-error.js';
import { StewardClient } from '../src/client.js';
import { HttpTransport } from '../src/transport.js';

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  lastEventId: string | undefined;
  body: unknown;
}

let server: Server;
let baseUrl: string;
const seen: Seen[] = [];
const requestIds = new Map<string, string>();

function reply(res: ServerResponse, status: number, body?: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  let text = '';
  for await (const chunk of req) text += chunk;
  const body = text ? JSON.parse(text) : undefined;
  seen.push({
    method: req.method!,
    url: req.url!,
    auth: req.headers.authorization,
    lastEventId: req.headers['last-event-id'] as string | undefined,
    body,
  });
  const url = new URL(req.url!, 'http://x');
  if (req.headers.authorization !== 'Bearer good') {
    return reply(res, 401, { error: { code: 'unauthorized', message: 'missing or invalid credentials' } });
  }
  if (url.pathname === '/healthz') return reply(res, 200, { ok: true });
  if (url.pathname === '/readyz') return reply(res, 503, { ready: false });
  if (url.pathname === '/api/v1/nodes' && req.method === 'GET') return reply(res, 200, { items: [{ id: 'n1' }] });
  if (url.pathname === '/api/v1/nodes/web%201' && req.method === 'DELETE') {
    return url.searchParams.get('force') === 'true'
      ? reply(res, 204)
      : reply(res, 409, { error: { code: 'node_has_pending_work', message: 'node has 2 pending commands', details: { pending: 2 } } });
  }
  if (url.pathname === '/api/v1/commands' && req.method === 'POST') {
    const rid = (body as { requestId?: string }).requestId ?? String(Math.random());
    const again = requestIds.has(rid);
    if (!again) requestIds.set(rid, `cmd_${requestIds.size + 1}`);
    return reply(res, again ? 200 : 201, { id: requestIds.get(rid), state: 'pending' });
  }
  if (url.pathname === '/api/v1/commands' && req.method === 'GET') return reply(res, 200, { items: [] });
  if (url.pathname === '/api/v1/jobs' && req.method === 'POST') {
    return reply(res, 400, {
      error: { code: 'validation_failed', message: 'invalid body', details: { issues: [{ field: 'type', rule: 'pattern' }] } },
    });
  }
  if (url.pathname === '/api/v1/plain') {
    res.writeHead(502);
    return res.end('bad gateway');
  }
  if (url.pathname === '/api/v1/events') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(': ping\n\n');
    const events = [
      { id: '7', kind: 'node.status', nodeId: 'n1', name: 'web-1', status: 'online', reason: 'connected', at: 1 },
      { id: '8', kind: 'job.state', jobId: 'j1', state: 'succeeded', counts: { succeeded: 1 }, at: 2 },
    ];
    // Written in awkward pieces, as a proxy might deliver them.
    const text = events.map(({ id, ...e }) => `id: ${id}\nevent: ${e.kind}\ndata: ${JSON.stringify(e)}\n\n`).join('');
    for (let i = 0; i < text.length; i += 7) res.write(text.slice(i, i + 7));
    if (url.searchParams.get('kinds') === 'end') return res.end();
    return; // held open, like the real stream
  }
  reply(res, 404, { error: { code: 'not_found', message: 'no route' } });
}

beforeAll(async () => {
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const client = () => new StewardClient({ baseUrl: `${baseUrl}/`, token: 'good' });

describe('StewardClient', () => {
  it('sends the bearer token and query parameters, skipping unset ones', async () => {
    const res = await client().listNodes({ status: 'online', selector: 'env=prod' });
    expect(res.items).toEqual([{ id: 'n1' }]);
    const last = seen.at(-1)!;
    expect(last.auth).toBe('Bearer good');
    expect(last.url).toBe('/api/v1/nodes?status=online&selector=env%3Dprod');
  });

  it('tells a created command from a replayed one', async () => {
    const c = client();
    const a = await c.submitCommand({ node: 'n1', type: 'exec.run', requestId: 'r-1' });
    const b = await c.submitCommand({ node: 'n1', type: 'exec.run', requestId: 'r-1' });
    expect(a).toEqual({ created: true, command: { id: a.command.id, state: 'pending' } });
    expect(b.created).toBe(false);
    expect(b.command.id).toBe(a.command.id);
  });

  it('turns an error envelope into an ApiError with status, code, details and issues', async () => {
    const err = await client()
      .createJob({ target: { all: true }, type: 'exec.run' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, code: 'validation_failed', message: 'invalid body' });
    expect((err as ApiError).issues).toEqual([{ field: 'type', rule: 'pattern' }]);
  });

  it('encodes ids in paths and passes force', async () => {
    const c = client();
    await expect(c.deleteNode('web 1')).rejects.toMatchObject({ status: 409, code: 'node_has_pending_work' });
    await expect(c.deleteNode('web 1', { force: true })).resolves.toBeUndefined();
    expect(seen.at(-1)!.url).toBe('/api/v1/nodes/web%201?force=true');
  });

  it('reports a bad token as unauthorized', async () => {
    const c = new StewardClient({ baseUrl, token: 'bad' });
    await expect(c.listCommands()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('reports a non-envelope error body with its status', async () => {
    const err = await new HttpTransport({ baseUrl, token: 'good' }).request('GET', '/plain').catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 502, code: 'http_502' });
    expect((err as Error).message).toContain('bad gateway');
  });

  it('reports an unreachable server as connection_failed, naming the URL', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const c = new StewardClient({ baseUrl: `http://127.0.0.1:${port}`, token: 'good' });
    const err = await c.listNodes().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 0, code: 'connection_failed' });
    expect((err as Error).message).toContain(`http://127.0.0.1:${port}`);
    expect((err as Error).message).toContain('ECONNREFUSED');
  });

  it('reads health and readiness', async () => {
    expect(await client().health()).toEqual({ live: true, ready: false, body: { ready: false } });
  });

  it('streams events incrementally and stops when aborted', async () => {
    const ac = new AbortController();
    const got: { id: string; kind: string }[] = [];
    for await (const { id, event } of client().events({ kinds: ['node.status', 'job.state'], lastEventId: '6', signal: ac.signal })) {
      got.push({ id, kind: event.kind });
      if (got.length === 2) ac.abort();
    }
    expect(got).toEqual([
      { id: '7', kind: 'node.status' },
      { id: '8', kind: 'job.state' },
    ]);
    const req = seen.at(-1)!;
    expect(req.url).toBe('/api/v1/events?kinds=node.status%2Cjob.state');
    expect(req.lastEventId).toBe('6');
  });

  it('ends the iteration when the server ends the stream', async () => {
    const stream = await client().openEvents({ kinds: ['end'] });
    const ids: string[] = [];
    for await (const { id } of stream) ids.push(id);
    expect(ids).toEqual(['7', '8']);
  });

  it('lets a caller close an open stream from outside', async () => {
    const stream = await client().openEvents();
    const ids: string[] = [];
    setTimeout(() => stream.close(), 100);
    for await (const { id } of stream) ids.push(id);
    expect(ids).toEqual(['7', '8']);
  });
});
