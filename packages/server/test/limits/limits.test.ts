import { request, Agent as HttpAgent } from 'node:http';
import { connect as tcpConnect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_ARTIFACTS_PATH, AGENT_CONNECT_PATH, AGENT_ENROLL_PATH, AGENT_PROTOCOL_VERSION, type CheckStatus, type StewardEvent } from '@steward/protocol';
import { StewardClient } from '@steward/client';
import { startServer, type ControlPlane } from '../../src/control-plane.js';
import { listAlerts } from '../../src/store/queries/alerts.js';
import { insertWebhook } from '../../src/store/queries/webhooks.js';
import { tempDir } from '../../../../test/support/processes.js';
import { waitFor } from '../../../../test/support/wait.js';
import { rawInventory } from '../../../../test/support/raw-agent.js';

/**
 * Each limit against a hostile agent or client, crossed on a whole control plane (in this
 * process, SQLite, real sockets on loopback), with a clear error for the one who crossed it and
 * a positive marker that another node or client is still served. Two sources of requests are
 * two loopback addresses (127.0.0.x as the local address).
 */

const OPEN_ALERTS = 50;
const SSE_BUFFER = 64 * 1024;

const inventory = rawInventory('raw', { modules: ['exec', 'monitor'], commandTypes: [{ type: 'exec.run', module: 'exec', safeToRerun: false }] });

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One keep-alive pool per source address. */
const pools = new Map<string, HttpAgent>();

/** An HTTP request from a chosen loopback source address. */
function http(url: string, o: { method?: string; headers?: Record<string, string>; body?: Buffer | string; from?: string; chunked?: boolean } = {}): Promise<Reply> {
  const from = o.from ?? '127.0.0.1';
  let agent = pools.get(from);
  if (!agent) pools.set(from, (agent = new HttpAgent({ keepAlive: true })));
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? 'GET', headers: o.headers, localAddress: from, agent }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (o.body !== undefined && o.chunked) {
      // No Content-Length: the size is known only as the bytes arrive.
      const b = Buffer.from(o.body);
      for (let i = 0; i < b.length; i += 16 * 1024) req.write(b.subarray(i, i + 16 * 1024));
      req.end();
    } else req.end(o.body);
  });
}

const codeOf = (r: Reply) => (JSON.parse(r.body) as { error: { code: string } }).error.code;

describe('limits against a hostile agent or client', { timeout: 60_000 }, () => {
  let server: ControlPlane;
  let client: StewardClient;
  let token: string;
  const logs: string[] = [];

  beforeAll(async () => {
    server = await startServer({
      listen: '127.0.0.1:0',
      dataDir: tempDir('steward-limits-'),
      logLevel: 'info',
      logStream: { write: (line) => void logs.push(line) },
      limits: { openAlertsPerNode: OPEN_ALERTS, artifactsPerNode: 3, artifactBytesPerNode: 256 * 1024, sseBufferBytes: SSE_BUFFER },
    });
    token = readFileSync(server.adminTokenPath, 'utf8').trim();
    client = new StewardClient({ baseUrl: server.url, token });
  }, 60_000);

  afterAll(async () => {
    for (const p of pools.values()) p.destroy();
    await server?.close();
  });

  async function enroll(name: string): Promise<{ nodeId: string; credential: string }> {
    const { token: enrollment } = await client.createEnrollmentToken({});
    const res = await http(server.url + AGENT_ENROLL_PATH, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: enrollment, name, inventory }) });
    expect(res.status).toBe(201);
    return JSON.parse(res.body) as { nodeId: string; credential: string };
  }

  /** A raw agent socket that said hello, to send what a real agent never would. */
  async function rawAgent(name: string) {
    const { nodeId, credential } = await enroll(name);
    const ws = new WebSocket(server.url.replace('http', 'ws') + AGENT_CONNECT_PATH, { headers: { authorization: `Bearer ${credential}` } });
    const inbox: any[] = [];
    ws.on('message', (d) => inbox.push(JSON.parse(String(d))));
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: String(reason) })));
    await new Promise<void>((ok, fail) => {
      ws.once('open', () => ok());
      ws.once('error', fail);
    });
    const next = async (type: string, match: (m: any) => boolean = () => true) => {
      const msg = await waitFor(`a ${type} message`, () => inbox.find((m) => m.type === type && match(m)), { timeoutMs: 20_000, intervalMs: 20 });
      inbox.splice(inbox.indexOf(msg), 1);
      return msg;
    };
    const send = (m: unknown) => ws.send(typeof m === 'string' ? m : JSON.stringify(m));
    send({ type: 'hello', protocol: AGENT_PROTOCOL_VERSION, inventory: { ...inventory, hostname: name }, running: [], outbox: [] });
    await next('welcome');
    let seq = 0;
    /** A heartbeat whose handling is seen: an unknown outbox id is acknowledged at its end. */
    const beat = async () => {
      const marker = `cmd_marker${String(seq).padStart(12, '0')}`;
      send({ type: 'heartbeat', seq: seq++, stats: { collectedAt: Date.now(), cpu: { usagePercent: 1, cores: 1 }, load: [0, 0, 0], memory: { totalBytes: 1, availableBytes: 1, usedBytes: 0 }, disks: [], network: [], uptimeSeconds: 1, agentUptimeSeconds: 1 }, running: [], outbox: [marker] });
      await next('result.ack', (m) => m.commandIds.includes(marker));
    };
    return { nodeId, credential, ws, next, send, beat, closed };
  }

  async function metric(name: string): Promise<number> {
    const text = await server.ctx.metrics.text();
    const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  it('a 5 MiB agent frame closes that agent\'s socket (1009, logged with its node) while a second agent\'s command completes', async () => {
    const big = await rawAgent('big-frames');
    const good = await rawAgent('good-frames');
    big.send(JSON.stringify({ type: 'heartbeat', junk: 'x'.repeat(5 * 1024 * 1024) }));
    const { command } = await client.submitCommand({ node: 'good-frames', type: 'exec.run', payload: { command: 'true' } });
    const dispatch = await good.next('command.dispatch', (m) => m.command.id === command.id);
    good.send({ type: 'command.started', commandId: dispatch.command.id, at: Date.now() });
    good.send({ type: 'command.result', commandId: command.id, state: 'succeeded', result: { exitCode: 0 }, startedAt: Date.now(), finishedAt: Date.now() });
    await good.next('result.ack', (m) => m.commandIds.includes(command.id));
    expect((await client.getCommand(command.id)).state).toBe('succeeded');
    // 1009: "message too big" (RFC 6455), sent by ws before reading the frame's payload.
    expect((await big.closed).code).toBe(1009);
    await waitFor('the size refusal logged with the node id', () => logs.some((l) => l.includes('over the size limit') && l.includes(big.nodeId)));
    expect(await metric('steward_agent_messages_dropped_total{reason="frame_size"}')).toBe(1);
    await good.beat();
  });

  it('300 spoofed check.state events open at most the cap of alerts and queue at most that many webhook deliveries; another node still opens its own', async () => {
    await insertWebhook(server.ctx.store.db, { id: 'wh_limits', name: 'limits', url: 'http://127.0.0.1:9/', secret: 's', events: '["alert.fired"]', filter: null, created_at: Date.now() });
    const spoof = await rawAgent('spoofer');
    const honest = await rawAgent('honest');
    const check = (id: string): CheckStatus => ({ id, kind: 'tcp', severity: 'critical', state: 'firing', failures: 3, successes: 0, since: 1, lastRunAt: 1, message: 'down', summary: `tcp ${id}` });
    for (let i = 0; i < 300; i++) spoof.send({ type: 'module.event', module: 'monitor', event: 'check.state', at: Date.now(), data: { check: check(`c${i}`), transition: 'fired' } });
    // Handled in order: once this heartbeat is acknowledged, all 300 events were.
    await spoof.beat();
    const open = await listAlerts(server.ctx.store.db, { state: 'firing', nodeId: spoof.nodeId });
    expect(open).toHaveLength(OPEN_ALERTS);
    const deliveries = await server.ctx.store.db.selectFrom('webhook_deliveries').select('id').where('webhook_id', '=', 'wh_limits').execute();
    expect(deliveries).toHaveLength(OPEN_ALERTS);
    expect(await metric('steward_monitor_alerts_refused_total')).toBe(300 - OPEN_ALERTS);
    expect(logs.some((l) => l.includes('open monitor alerts (the cap)') && l.includes(spoof.nodeId))).toBe(true);
    honest.send({ type: 'module.event', module: 'monitor', event: 'check.state', at: Date.now(), data: { check: check('disk'), transition: 'fired' } });
    await honest.beat();
    expect(await listAlerts(server.ctx.store.db, { state: 'firing', nodeId: honest.nodeId })).toHaveLength(1);
  });

  it('refuses an artifact upload over the node\'s quota (count or bytes) with artifact_quota_exceeded and stores nothing; another node still uploads', async () => {
    const a = await enroll('uploader-a');
    const b = await enroll('uploader-b');
    const put = (cred: string, body: Buffer, chunked = false) =>
      http(`${server.url}${AGENT_ARTIFACTS_PATH}?name=junk`, { method: 'PUT', headers: { authorization: `Bearer ${cred}`, 'content-type': 'application/octet-stream' }, body, chunked });
    for (let i = 0; i < 3; i++) expect((await put(a.credential, Buffer.from(`junk ${i}`))).status).toBe(201);
    const before = (await client.listArtifacts({})).items.length;
    const fourth = await put(a.credential, Buffer.from('junk 3'));
    expect(fourth.status).toBe(413);
    expect(codeOf(fourth)).toBe('artifact_quota_exceeded');
    expect(JSON.parse(fourth.body).error.details).toMatchObject({ usedCount: 3, quotaCount: 3 });
    // Bytes: declared up front, and streamed without a length (refused once the quota is passed).
    const large = Buffer.alloc(300 * 1024, 7);
    const declared = await put(b.credential, large);
    expect([declared.status, codeOf(declared)]).toEqual([413, 'artifact_quota_exceeded']);
    const streamed = await put(b.credential, large, true);
    expect([streamed.status, codeOf(streamed)]).toEqual([413, 'artifact_quota_exceeded']);
    expect((await client.listArtifacts({})).items.length).toBe(before);
    const fits = await put(b.credential, Buffer.alloc(100 * 1024, 8));
    expect(fits.status).toBe(201);
    expect((await client.listArtifacts({})).items.length).toBe(before + 1);
  });

  it('refuses ?access_token= on the event stream (401): the token goes in the Authorization header only', async () => {
    const res = await http(`${server.url}/api/v1/events?access_token=${encodeURIComponent(token)}`);
    expect(res.status).toBe(401);
    expect(codeOf(res)).toBe('unauthorized');
  });

  it('gives one token at most 8 event streams at once: the 9th gets 429 with Retry-After; another token still opens one', async () => {
    const streams: AbortController[] = [];
    const open = async (t: string) => {
      const c = new AbortController();
      const res = await fetch(`${server.url}/api/v1/events`, { headers: { authorization: `Bearer ${t}` }, signal: c.signal });
      if (res.ok) streams.push(c);
      return res;
    };
    try {
      for (let i = 0; i < 8; i++) expect((await open(token)).status).toBe(200);
      const ninth = await open(token);
      expect(ninth.status).toBe(429);
      expect(Number(ninth.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await ninth.json()) as any).error.code).toBe('too_many_streams');
      // A task's output stream counts with them: the limit is per token, whatever the stream.
      const { task } = await client.submitTask({ kind: 'exec', payload: { command: 'true' }, requirements: { selector: 'no-such-label=1' } });
      const output = await fetch(`${server.url}/api/v1/tasks/${task.id}/output`, { headers: { authorization: `Bearer ${token}` } });
      expect(output.status).toBe(429);
      expect(((await output.json()) as any).error.code).toBe('too_many_streams');
      const other = await client.createToken({ name: 'second-reader', role: 'reader' });
      expect((await open(other.token)).status).toBe(200);
      // Closing one frees its place.
      streams.shift()!.abort();
      await waitFor('a place freed', async () => {
        const res = await open(token);
        if (res.status !== 200) await res.body?.cancel();
        return res.status === 200;
      });
    } finally {
      for (const c of streams) c.abort();
    }
  });

  it('drops the event stream of a client that stopped reading (a last stream.dropped event says why) and keeps a reading one', async () => {
    // The slow client: a raw socket that reads the response head, then stops reading.
    const slow: Socket = tcpConnect(new URL(server.url).port ? Number(new URL(server.url).port) : 80, '127.0.0.1');
    slow.write(`GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    await new Promise<void>((r) => slow.once('data', () => r()));
    slow.pause();
    const fast = new AbortController();
    const res = await fetch(`${server.url}/api/v1/events`, { headers: { authorization: `Bearer ${token}` }, signal: fast.signal });
    let fastText = '';
    const reading = (async () => {
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read().catch(() => ({ done: true, value: '' }));
        if (done) return;
        fastText += value;
        // Only the tail is kept: enough to find the last marker.
        if (fastText.length > 200_000) fastText = fastText.slice(-100_000);
      }
    })();
    const filler = 'f'.repeat(16 * 1024);
    let sent = 0;
    // A few events per turn of the loop, as a busy fleet would: each turn the socket may flush.
    const droppedLogged = () => logs.some((l) => l.includes('dropped an event stream whose client read too slowly'));
    while (!droppedLogged() && sent < 6000) {
      for (let i = 0; i < 2; i++) server.ctx.bus.publish({ kind: 'limits.filler', at: Date.now(), n: sent++, filler } as unknown as StewardEvent);
      await new Promise((r) => setImmediate(r));
    }
    expect(await metric('steward_event_streams_dropped_total')).toBe(1);
    // The reading client is still served: a marker published after the drop reaches it.
    server.ctx.bus.publish({ kind: 'limits.marker', at: Date.now() } as unknown as StewardEvent);
    await waitFor('the marker on the reading stream', () => fastText.includes('event: limits.marker'));
    fast.abort();
    await reading;
    // The slow client, reading again, finds the reason at the end of its stream.
    let slowText = '';
    slow.setEncoding('utf8');
    slow.on('data', (d: string) => (slowText = (slowText + d).slice(-10_000)));
    slow.resume();
    await waitFor('the reason at the end of the dropped stream', () => slowText.includes('event: stream.dropped'));
    expect(slowText).toContain('"reason":"slow_reader"');
    // The stream ended there (the chunked body's last chunk).
    expect(slowText.endsWith('\r\n0\r\n\r\n')).toBe(true);
    slow.destroy();
  });

  it('after 20 failed authentications a source gets 429 with Retry-After for everything needing auth, until the window passes; other sources are unaffected', async () => {
    const bad = `${token.split('.')[0]}.not-the-secret`;
    const statuses = new Map<number, number>();
    let first429: Reply | undefined;
    for (let i = 0; i < 1500; i++) {
      const r = await http(`${server.url}/api/v1/nodes`, { headers: { authorization: `Bearer ${bad}` }, from: '127.0.0.2' });
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status === 429) first429 ??= r;
    }
    expect(Object.fromEntries(statuses)).toEqual({ 401: 20, 429: 1480 });
    expect(codeOf(first429!)).toBe('too_many_auth_failures');
    const retry = Number(first429!.headers['retry-after']);
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(60);
    // Even a good token from that source waits; from another source it works.
    expect((await http(`${server.url}/api/v1/nodes`, { headers: { authorization: `Bearer ${token}` }, from: '127.0.0.2' })).status).toBe(429);
    expect((await http(`${server.url}/api/v1/nodes`, { headers: { authorization: `Bearer ${token}` }, from: '127.0.0.3' })).status).toBe(200);
    expect((await http(`${server.url}/healthz`, { from: '127.0.0.2' })).status).toBe(200);
    // Enrollment tokens and node credentials count the same way.
    for (let i = 0; i < 20; i++) {
      const r = await http(server.url + AGENT_ENROLL_PATH, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'enr_nope.nope', name: 'x' }), from: '127.0.0.4' });
      expect(r.status).toBe(401);
    }
    const blocked = await http(server.url + AGENT_CONNECT_PATH, { headers: { authorization: 'Bearer node_x.y' }, from: '127.0.0.4' });
    expect([blocked.status, codeOf(blocked)]).toEqual([429, 'too_many_auth_failures']);
    expect(await metric('steward_auth_failures_total')).toBeGreaterThanOrEqual(40);
    expect(await metric('steward_auth_throttled_total')).toBeGreaterThanOrEqual(1481);
  });
});
