import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import { Agent as Dispatcher, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAgent, freePort, startAgentProcess, startServerProcess, tempDir, type AgentProc, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const API_KEY = 'ms-test-key-0123456789abcdef';
const HMAC_SECRET = 'ms-test-hmac-secret-0123456789';

interface Posted {
  headers: IncomingHttpHeaders;
  body: string;
}

/** The MediaStack controller's heartbeat endpoint: records what the node posts. */
async function heartbeatReceiver(): Promise<{ server: Server; url: string; posts: Posted[] }> {
  const posts: Posted[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      posts.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}/api/node/heartbeat`, posts };
}

/** A MediaStack controller, written from the seed's description and docs/compatibility.md. */
function controller(base: string, o: { key?: string | null; secret?: string | null; timestamp?: number; from?: string } = {}) {
  const dispatcher = o.from ? new Dispatcher({ localAddress: o.from }) : undefined;
  return async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    const key = o.key === undefined ? API_KEY : o.key;
    if (key !== null) headers['x-api-key'] = key;
    const secret = o.secret === undefined ? HMAC_SECRET : o.secret;
    if (secret !== null) {
      const ts = String(o.timestamp ?? Math.floor(Date.now() / 1000));
      headers['x-timestamp'] = ts;
      headers['x-signature'] = createHmac('sha256', secret).update(ts + text).digest('hex');
    }
    const res = await request(base + path, { method, headers, body: text || undefined, ...(dispatcher ? { dispatcher } : {}) });
    return { status: res.statusCode, body: (await res.body.json()) as any };
  };
}

describe('MediaStack controllers drive the agent through its inbound API', { timeout: 60_000 }, () => {
  let server: ServerProc;
  let agent: AgentProc;
  let base: string;
  let receiver: Awaited<ReturnType<typeof heartbeatReceiver>>;
  let nodeId: string;

  beforeAll(async () => {
    server = await startServerProcess();
    receiver = await heartbeatReceiver();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    agent = await addAgent(
      server,
      'ms-node',
      [],
      [
        'inbound:',
        `  listen: "127.0.0.1:${port}"`,
        `  apiKey: "${API_KEY}"`,
        `  hmacSecret: "${HMAC_SECRET}"`,
        '  allowFrom: ["127.0.0.1/32", "::1"]',
        'mediastackHeartbeat:',
        `  url: "${receiver.url}"`,
        '  intervalMs: 300',
        '',
      ].join('\n'),
    );
    nodeId = (await server.client.getNode('ms-node')).id;
  });

  afterAll(async () => {
    await agent?.kill();
    await server?.kill();
    receiver?.server.close();
  });

  it('refuses a missing or wrong X-API-KEY with 401, and never logs the key', async () => {
    const missing = await controller(base, { key: null })('GET', '/api/v1/status');
    expect(missing.status).toBe(401);
    expect(missing.body.error).toMatchObject({ code: 'unauthorized', message: expect.stringContaining('X-API-KEY') });
    const wrongKey = 'not-the-key-of-this-node-at-all';
    const wrong = await controller(base, { key: wrongKey })('POST', '/api/v1/tasks', { request_id: 'r-wrong', type: 'sys.ping' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('unauthorized');
    // Unknown paths are behind the key too: no probing what the node serves.
    expect((await controller(base, { key: null })('GET', '/nope')).status).toBe(401);
    await waitFor('both refusals in the agent log', () => (agent.output().match(/inbound API refused a request/g) ?? []).length >= 3);
    expect(agent.output()).not.toContain(wrongKey);
    expect(agent.output()).not.toContain(API_KEY);
    expect(await controller(base)('GET', '/api/v1/tasks/r-wrong')).toMatchObject({ status: 404 });
  });

  it('refuses a bad signature, a missing one and a stale timestamp', async () => {
    const bad = await controller(base, { secret: 'some-other-secret-0123456789' })('GET', '/api/v1/status');
    expect(bad).toMatchObject({ status: 401, body: { error: { code: 'bad_signature' } } });
    const unsigned = await controller(base, { secret: null })('GET', '/api/v1/status');
    expect(unsigned).toMatchObject({ status: 401, body: { error: { code: 'signature_required' } } });
    const stale = await controller(base, { timestamp: Math.floor(Date.now() / 1000) - 400 })('GET', '/api/v1/status');
    expect(stale).toMatchObject({ status: 401, body: { error: { code: 'stale_timestamp' } } });
    // Signed over other bytes than those sent: a body changed on the way is refused.
    const ts = String(Math.floor(Date.now() / 1000));
    const res = await request(`${base}/api/v1/tasks`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': API_KEY,
        'x-timestamp': ts,
        'x-signature': createHmac('sha256', HMAC_SECRET).update(ts + '{"request_id":"a","type":"sys.ping"}').digest('hex'),
      },
      body: '{"request_id":"b","type":"sys.ping"}',
    });
    expect(res.statusCode).toBe(401);
    expect(((await res.body.json()) as any).error.code).toBe('bad_signature');
    const ok = await controller(base)('GET', '/api/v1/status');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ node_id: nodeId, status: { nginx_status: expect.stringMatching(/^(running|stopped)$/) } });
  });

  it('refuses callers outside inbound.allowFrom with 403 and logs it', async () => {
    const outside = await controller(base, { from: '127.0.0.2' })('GET', '/api/v1/status');
    expect(outside).toMatchObject({ status: 403, body: { error: { code: 'ip_not_allowed', message: expect.stringContaining('127.0.0.2') } } });
    await waitFor('the allowlist refusal in the agent log', () => /"ip":"127\.0\.0\.2".*"code":"ip_not_allowed"/.test(agent.output()));
    expect((await controller(base, { from: '127.0.0.1' })('GET', '/api/v1/status')).status).toBe(200);
  });

  it('runs an fs command through the module and answers with its result', async () => {
    const dir = join(agent.dataDir, 'files', 'site-1', 'htdocs');
    const res = await controller(base)('POST', '/api/v1/tasks', { request_id: 'mkdir-1', type: 'fs.mkdir', payload: { path: dir } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ request_id: 'mkdir-1', type: 'fs.mkdir', status: 'succeeded', repeated: false, error: null });
    expect(statSync(dir).isDirectory()).toBe(true);
    // The module's schema applies, as for a dispatched command: a bad payload is a 400, nothing runs.
    const invalid = await controller(base)('POST', '/api/v1/tasks', { request_id: 'mkdir-bad', type: 'fs.mkdir', payload: { path: 7 } });
    expect(invalid).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });
    expect(await controller(base)('GET', '/api/v1/tasks/mkdir-bad')).toMatchObject({ status: 404 });
    const unknown = await controller(base)('POST', '/api/v1/tasks', { request_id: 'nope-1', type: 'nope.run' });
    expect(unknown).toMatchObject({ status: 400, body: { error: { code: 'unknown_command_type' } } });
    // Outside the fs roots the module refuses, and the failure is the command's, reported as such.
    const outside = await controller(base)('POST', '/api/v1/tasks', { request_id: 'mkdir-out', type: 'fs.mkdir', payload: { path: '/etc/ms-nope' } });
    expect(outside).toMatchObject({ status: 200, body: { status: 'failed', error: { code: expect.any(String) } } });
    expect(existsSync('/etc/ms-nope')).toBe(false);
  });

  it('runs a request_id once however often it is sent, and refuses its reuse for another command', async () => {
    const effect = join(tempDir('ms-effect-'), 'runs.log');
    const task = { request_id: 'append-1', type: 'exec.run', payload: { command: 'echo run >> "$1"', args: [effect], shell: true } };
    const first = await controller(base)('POST', '/api/v1/tasks', task);
    expect(first).toMatchObject({ status: 200, body: { status: 'succeeded', repeated: false } });
    const again = await controller(base)('POST', '/api/v1/tasks', task);
    expect(again).toMatchObject({ status: 200, body: { status: 'succeeded', repeated: true, command_id: first.body.command_id } });
    expect(again.body.result).toEqual(first.body.result);
    const looked = await controller(base)('GET', '/api/v1/tasks/append-1');
    expect(looked.body).toMatchObject({ command_id: first.body.command_id, status: 'succeeded' });
    const reused = await controller(base)('POST', '/api/v1/tasks', { ...task, payload: { ...task.payload, command: 'echo other >> "$1"' } });
    expect(reused).toMatchObject({ status: 409, body: { error: { code: 'request_id_conflict', details: { commandId: first.body.command_id } } } });
    expect(readFileSync(effect, 'utf8')).toBe('run\n');
  });

  it("puts inbound commands in the control plane's command history of the node", async () => {
    const res = await controller(base)('POST', '/api/v1/tasks', { request_id: 'history-1', type: 'sys.ping' });
    expect(res.body.status).toBe('succeeded');
    const cmd = await waitFor('the inbound command in the node history', async () => {
      const list = await server.client.listCommands({ node: 'ms-node' });
      return list.items.find((c) => c.id === res.body.command_id);
    });
    expect(cmd).toMatchObject({ nodeId, type: 'sys.ping', state: 'succeeded', requestId: `inbound:${nodeId}:history-1`, jobId: null });
    // One history: a control-plane command and the inbound ones side by side.
    const { command: submitted } = await server.client.submitCommand({ node: 'ms-node', type: 'sys.ping' });
    await waitFor('the control-plane command to succeed', async () => (await server.client.getCommand(submitted.id)).state === 'succeeded');
    const all = (await server.client.listCommands({ node: 'ms-node' })).items.map((c) => c.id);
    expect(all).toEqual(expect.arrayContaining([submitted.id, res.body.command_id]));
  });

  it('posts the MediaStack heartbeat to the controller, signed', async () => {
    const post = await waitFor('a heartbeat at the controller', () => receiver.posts.at(-1));
    const hb = JSON.parse(post.body);
    expect(hb).toEqual({
      node_id: nodeId,
      time: expect.any(Number),
      status: {
        cpu_load: expect.any(Number),
        disk_usage_percent: expect.any(Number),
        nginx_status: expect.stringMatching(/^(running|stopped)$/),
        pureftpd_status: expect.stringMatching(/^(running|stopped)$/),
      },
    });
    expect(Math.abs(hb.time - Date.now() / 1000)).toBeLessThan(60);
    expect(hb.status.cpu_load).toBeGreaterThanOrEqual(0);
    expect(hb.status.cpu_load).toBeLessThanOrEqual(1);
    expect(post.headers['x-signature']).toBe(createHmac('sha256', HMAC_SECRET).update(String(post.headers['x-timestamp']) + post.body).digest('hex'));
    // Every interval, not once.
    const count = receiver.posts.length;
    await waitFor('another heartbeat', () => receiver.posts.length > count);
  });
});

describe('the inbound API is refused at start without a key on a non-loopback address', { timeout: 90_000 }, () => {
  it('exits with a clear error', async () => {
    const port = await freePort();
    const refused = startAgentProcess({ server: 'http://127.0.0.1:9', config: `inbound:\n  listen: "0.0.0.0:${port}"\n` });
    await waitFor('the agent to exit', () => refused.child.exitCode !== null, { timeoutMs: 60_000 });
    expect(refused.child.exitCode).not.toBe(0);
    expect(refused.output()).toContain('needs an API key');
    expect(refused.output()).toContain('inbound.apiKey');
  });
});
