import { connect } from 'node:net';
import { statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_CONNECT_PATH, AGENT_ENROLL_PATH } from '@steward/protocol';
import { StewardClient } from '@steward/client';
import { addAgent, startServerProcess, type AgentProc, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { rawInventory } from '../support/raw-agent.js';

const inventory = rawInventory('raw', { modules: ['sys'], commandTypes: [{ type: 'sys.ping', module: 'sys', safeToRerun: true }] });

/** A raw agent socket, to send what a real agent never would. */
async function rawAgent(url: string, credential: string) {
  const ws = new WebSocket(url.replace('http', 'ws') + AGENT_CONNECT_PATH, { headers: { authorization: `Bearer ${credential}` } });
  const inbox: any[] = [];
  ws.on('message', (d) => inbox.push(JSON.parse(String(d))));
  await new Promise<void>((ok, fail) => {
    ws.once('open', () => ok());
    ws.once('error', fail);
    ws.once('unexpected-response', (_req, res) => fail(new Error(`HTTP ${res.statusCode}`)));
  });
  const next = async (type: string) => {
    const msg = await waitFor(() => `a ${type} message; got ${JSON.stringify(inbox)}`, () => inbox.find((m) => m.type === type), { timeoutMs: 2000, intervalMs: 20 });
    inbox.splice(inbox.indexOf(msg), 1);
    return msg;
  };
  return { ws, next, send: (m: unknown) => ws.send(typeof m === 'string' ? m : JSON.stringify(m)) };
}

async function enrollRaw(server: ServerProc, name: string): Promise<{ nodeId: string; credential: string }> {
  const { token } = await server.client.createEnrollmentToken({});
  const res = await fetch(server.url + AGENT_ENROLL_PATH, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, name, inventory }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { nodeId: string; credential: string };
}

describe('security baseline', { timeout: 30_000 }, () => {
  let server: ServerProc;
  let agent: AgentProc;

  beforeAll(async () => {
    server = await startServerProcess();
    agent = await addAgent(server, 'real');
  }, 60_000);
  afterAll(async () => {
    await agent?.kill();
    await server?.kill();
  });

  it('keeps the admin token in a 0600 file and refuses requests without a valid token', async () => {
    expect(statSync(join(server.dataDir, 'admin.token')).mode & 0o777).toBe(0o600);
    const anon = await fetch(`${server.url}/api/v1/nodes`);
    expect(anon.status).toBe(401);
    expect(((await anon.json()) as any).error.code).toBe('unauthorized');
    const forged = new StewardClient({ baseUrl: server.url, token: server.token.slice(0, -2) + 'xx' });
    await expect(forged.listNodes()).rejects.toMatchObject({ status: 401 });
  });

  it('enrollment tokens are single-use by default and refused once spent or deleted', async () => {
    const { token, id } = await server.client.createEnrollmentToken({ labels: { a: 'b' } });
    const enroll = (name: string, t = token) =>
      fetch(server.url + AGENT_ENROLL_PATH, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: t, name }) });
    expect((await enroll('one')).status).toBe(201);
    const second = await enroll('two');
    expect(second.status).toBe(401);
    expect(((await second.json()) as any).error.code).toBe('enrollment_token_used_up');
    expect((await server.client.getNode('one')).labels).toEqual({ a: 'b' });
    const other = await server.client.createEnrollmentToken({ uses: 5 });
    await server.client.deleteEnrollmentToken(other.id);
    expect((await enroll('three', other.token)).status).toBe(401);
    expect((await server.client.listEnrollmentTokens()).items.find((t) => t.id === id)?.usesLeft).toBe(0);
  });

  it('refuses a socket with a bad node credential before the upgrade', async () => {
    const { credential } = await enrollRaw(server, 'raw-bad');
    await expect(rawAgent(server.url, credential.slice(0, -3) + 'abc')).rejects.toThrow('HTTP 401');
  });

  it('answers a malformed agent message with an error and keeps the connection', async () => {
    const { credential } = await enrollRaw(server, 'raw-agent');
    const a = await rawAgent(server.url, credential);
    a.send('{not json');
    expect((await a.next('error')).code).toBe('malformed_message');
    a.send({ type: 'command.started', commandId: 'cmd_x', at: 1 });
    expect((await a.next('error')).code).toBe('hello_required');
    a.send({ type: 'hello', protocol: 1, inventory: { ...inventory, cpuCores: 'many' }, running: [], outbox: [] });
    const invalid = await a.next('error');
    expect(invalid.code).toBe('invalid_message');
    expect(invalid.message).toContain('inventory.cpuCores');
    a.send({ type: 'hello', protocol: 1, inventory, running: [], outbox: [] });
    expect((await a.next('welcome')).name).toBe('raw-agent');
    expect((await server.client.getNode('raw-agent')).status).toBe('online');
    a.ws.close();
  });

  it("an agent cannot finish another node's command", async () => {
    const { credential } = await enrollRaw(server, 'raw-intruder');
    const a = await rawAgent(server.url, credential);
    a.send({ type: 'hello', protocol: 1, inventory, running: [], outbox: [] });
    await a.next('welcome');
    const { command } = await server.client.submitCommand({ node: 'real', type: 'exec.run', payload: { command: 'sleep', args: ['1'] } });
    a.send({ type: 'command.result', commandId: command.id, state: 'failed', error: { code: 'x', message: 'forged' }, startedAt: 1, finishedAt: 2 });
    await a.next('result.ack');
    const done = await server.client.getCommand(command.id, { wait: 10 });
    expect(done.state).toBe('succeeded');
    a.ws.close();
  });

  it('limits body size and answers client mistakes with 4xx, never 500', async () => {
    // The server answers 413 from the content-length alone and closes. An HTTP client still busy
    // writing the 2 MiB body then fails on the write (EPIPE, or a reset that loses the answer),
    // so on a raw socket send the head, read the answer, and send the body only if none comes.
    const status = await new Promise<number>((resolve, reject) => {
      const { hostname, port } = new URL(server.url);
      const body = Buffer.from(JSON.stringify({ node: 'real', type: 'sys.ping', payload: { pad: 'x'.repeat(2 * 1024 * 1024) } }));
      const sock = connect(Number(port), hostname);
      let answer = '';
      const done = () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0));
      sock.on('data', (d) => {
        answer += d.toString('latin1');
        if (/\r\n\r\n/.test(answer)) done();
      });
      sock.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
      sock.on('close', done);
      sock.setTimeout(20_000, () => sock.destroy());
      sock.write(
        `POST /api/v1/commands HTTP/1.1\r\nhost: ${hostname}:${port}\r\nauthorization: Bearer ${server.token}\r\n` +
          `content-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`,
      );
      const late = setTimeout(() => !answer && sock.end(body), 2000);
      sock.on('close', () => clearTimeout(late));
    });
    expect(status).toBe(413);
    const broken = await fetch(`${server.url}/api/v1/commands`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: '{"node":',
    });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as any).error.code).toMatch(/malformed_json|bad_request/);
    const nope = await fetch(`${server.url}/api/v1/nothing`, { headers: { authorization: `Bearer ${server.token}` } });
    expect(nope.status).toBe(404);
  });

  it('separates who may read from who may change', async () => {
    const api = (token: string, method: string, path: string, body?: unknown) =>
      fetch(server.url + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    const make = async (role: string) => {
      const res = await api(server.token, 'POST', '/api/v1/tokens', { name: `t-${role}`, role });
      expect(res.status).toBe(201);
      return ((await res.json()) as { token: string; id: string });
    };
    const reader = await make('reader');
    const operator = await make('operator');
    expect((await api(reader.token, 'GET', '/api/v1/nodes')).status).toBe(200);
    const denied = await api(reader.token, 'POST', '/api/v1/commands', { node: 'real', type: 'sys.ping' });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as any).error.code).toBe('forbidden');
    expect((await api(operator.token, 'POST', '/api/v1/commands', { node: 'real', type: 'sys.ping' })).status).toBe(201);
    expect((await api(operator.token, 'GET', '/api/v1/tokens')).status).toBe(403);
    const bad = await api(server.token, 'POST', '/api/v1/tokens', { name: 'x', role: 'root' });
    expect(bad.status).toBe(400);
    const list = (await (await api(server.token, 'GET', '/api/v1/tokens')).json()) as { items: { id: string; role: string }[] };
    expect(JSON.stringify(list)).not.toContain(reader.token.split('.')[1]);
    const admin = list.items.find((t) => t.role === 'admin')!;
    expect((await api(server.token, 'DELETE', `/api/v1/tokens/${admin.id}`)).status).toBe(409);
    expect((await api(server.token, 'DELETE', `/api/v1/tokens/${reader.id}`)).status).toBe(204);
    expect((await api(reader.token, 'GET', '/api/v1/nodes')).status).toBe(401);
  });

  it('writes no token, credential or secret to any log', async () => {
    const identity = JSON.parse(readFileSync(join(agent.dataDir, 'identity.json'), 'utf8')) as { credential: string };
    expect(statSync(join(agent.dataDir, 'identity.json')).mode & 0o777).toBe(0o600);
    const secretOf = (t: string) => t.split('.')[1]!;
    for (const out of [server.output(), agent.output()]) {
      expect(out).not.toContain(secretOf(server.token));
      expect(out).not.toContain(secretOf(identity.credential));
    }
  });
});
