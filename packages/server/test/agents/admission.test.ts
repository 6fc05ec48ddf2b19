import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_CONNECT_PATH, UnavailableError } from '@steward/protocol';
import { HandshakeAdmission, RETRY_AFTER_MAX_S, RETRY_AFTER_MIN_S } from '../../src/agents/admission.js';
import { startServer, type ControlPlane } from '../../src/control-plane.js';
import { tempDir } from '../../../../test/support/processes.js';

/** The handshake admission of a reconnect storm (docs/reconnect.md), on a fake clock, then on a whole control plane. */
describe('handshake admission', () => {
  const refusal = (f: () => unknown): UnavailableError => {
    try {
      f();
    } catch (e) {
      if (e instanceof UnavailableError) return e;
      throw e;
    }
    throw new Error('admitted, expected a refusal');
  };

  it('admits at most maxInProgress at once and admits again once one is released', () => {
    const clock = { now: 0 };
    const refused: string[] = [];
    const a = new HandshakeAdmission({ maxInProgress: 3, acceptsPerSecond: 1000, now: () => clock.now, refused: (r) => refused.push(r) });
    const held = [a.admit(), a.admit(), a.admit()];
    const e = refusal(() => a.admit());
    expect(e.status).toBe(503);
    expect(e.code).toBe('agents_busy');
    expect(refused).toEqual(['in_progress']);
    held[0]!.release();
    held[0]!.release(); // a second release (welcome, then close) frees nothing more
    expect(a.active).toBe(2);
    a.admit();
    expect(() => a.admit()).toThrow(UnavailableError);
  });

  it('admits at most acceptsPerSecond per second (a token bucket refilled by the clock)', () => {
    const clock = { now: 0 };
    const refused: string[] = [];
    const a = new HandshakeAdmission({ maxInProgress: 10_000, acceptsPerSecond: 5, now: () => clock.now, refused: (r) => refused.push(r) });
    for (let i = 0; i < 5; i++) a.admit().release();
    expect(() => a.admit()).toThrow(UnavailableError);
    expect(refused).toEqual(['rate']);
    clock.now += 400; // two tokens back
    a.admit();
    a.admit();
    expect(() => a.admit()).toThrow(UnavailableError);
  });

  it('asks for a Retry-After within [1, 10] s that grows with the refused backlog', () => {
    const clock = { now: 0 };
    const a = new HandshakeAdmission({ maxInProgress: 1, acceptsPerSecond: 100, now: () => clock.now, random: () => 0 });
    a.admit();
    const waits = Array.from({ length: 3000 }, () => refusal(() => a.admit()).retryAfterSeconds);
    for (const w of waits) {
      expect(w).toBeGreaterThanOrEqual(RETRY_AFTER_MIN_S);
      expect(w).toBeLessThanOrEqual(RETRY_AFTER_MAX_S);
    }
    // 100 refusals fill one second of accepts: the first is asked for 1 s, the 500th for 5 s, the last ones for the cap.
    expect(waits[0]).toBe(1);
    expect(waits[499]).toBe(5);
    expect(waits.at(-1)).toBe(RETRY_AFTER_MAX_S);
    // The header value and the body's details agree.
    expect((refusal(() => a.admit()).details as { retryAfterSeconds: number }).retryAfterSeconds).toBe(RETRY_AFTER_MAX_S);
  });

  it('refuses past maxConnections with reason capacity and a long Retry-After, before the other limits, and admits again when one leaves', () => {
    let connections = 0;
    const refused: string[] = [];
    const a = new HandshakeAdmission({ maxInProgress: 1, acceptsPerSecond: 1000, now: () => 0, maxConnections: 2, connections: () => connections, refused: (r) => refused.push(r) });
    a.admit().release();
    connections = 2;
    const e = refusal(() => a.admit());
    expect(e.code).toBe('agents_busy');
    expect((e.details as { reason: string }).reason).toBe('capacity');
    expect(e.retryAfterSeconds).toBeGreaterThanOrEqual(RETRY_AFTER_MAX_S - 2);
    expect(e.retryAfterSeconds).toBeLessThanOrEqual(RETRY_AFTER_MAX_S);
    const held = a.admit.bind(a);
    connections = 1;
    const t = held(); // room again
    connections = 2;
    // Full and one in progress: capacity is the reason given (the in-progress limit would say so otherwise).
    expect((refusal(() => a.admit()).details as { reason: string }).reason).toBe('capacity');
    t.release();
    expect(refused).toEqual(['capacity', 'capacity']);
  });

  it('books refusals at the rate handshakes were served in the last window, when that is below the accept rate', () => {
    const clock = { now: 0 };
    const a = new HandshakeAdmission({ maxInProgress: 10, acceptsPerSecond: 1000, now: () => clock.now, random: () => 0 });
    // A storm where each handshake takes 200 ms: 10 at a time serve 50 a second, not 1,000.
    for (let t = 0; t < 2000; t += 200) {
      clock.now = t;
      const held = Array.from({ length: 10 }, () => a.admit());
      clock.now = t + 199;
      for (const h of held) h.release();
    }
    clock.now = 2000;
    expect(a.servedPerSecond()).toBe(50);
    for (let i = 0; i < 10; i++) a.admit();
    const waits = Array.from({ length: 500 }, () => refusal(() => a.admit()).retryAfterSeconds);
    // 50 a second: the 100th refused agent is booked 2 s out, the 500th at the cap (at 1,000/s both would be 1 s).
    expect(waits[0]).toBe(1);
    expect(waits[99]).toBe(2);
    expect(waits[499]).toBe(RETRY_AFTER_MAX_S);
    // An idle spell (two windows without handshakes) forgets the storm: the accept rate stands again.
    clock.now = 7000;
    expect(a.servedPerSecond()).toBe(1000);
  });

  it('jitters the Retry-After so agents refused together do not return together', () => {
    const a = new HandshakeAdmission({ maxInProgress: 1, acceptsPerSecond: 1000, now: () => 0 });
    a.admit();
    const waits = new Set(Array.from({ length: 200 }, () => refusal(() => a.admit()).retryAfterSeconds));
    expect(waits.size).toBeGreaterThan(1);
  });
});

describe('an agent past the handshake limits gets 503 agents_busy with Retry-After before the upgrade', { timeout: 60_000 }, () => {
  let server: ControlPlane;

  beforeAll(async () => {
    // One accept per second: the first upgrade takes the token (and fails authentication), the next ones are refused.
    server = await startServer({ listen: '127.0.0.1:0', dataDir: tempDir('steward-admission-'), logLevel: 'silent', limits: { agentAcceptsPerSecond: 1 } });
  }, 60_000);

  afterAll(async () => {
    await server?.close();
  });

  /** A WebSocket dial as the agent makes it; the refusal is read from ws's `unexpected-response`. */
  const upgrade = (): Promise<{ status: number; retryAfter: string | undefined; body: string }> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}${AGENT_CONNECT_PATH}`, { headers: { authorization: 'Bearer node_x.nope' } });
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString('utf8')));
        res.on('end', () => {
          resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined, body });
          ws.terminate();
        });
      });
      ws.on('open', () => reject(new Error('upgraded')));
      ws.on('error', () => {});
    });

  it('answers 503 with the error code, a Retry-After in bounds, and counts it in the metric', async () => {
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await upgrade());
    const busy = answers.filter((a) => a.status === 503);
    expect(busy.length).toBeGreaterThan(0);
    for (const b of busy) {
      expect(JSON.parse(b.body).error.code).toBe('agents_busy');
      expect(Number(b.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(b.retryAfter)).toBeLessThanOrEqual(10);
    }
    // The first took the one token (admitted once, when its upgrade arrived, not again by the
    // route) and was refused for its credential; the others were admitted the same way.
    expect(answers[0]!.status).toBe(401);
    for (const a of answers.filter((x) => x.status !== 503)) expect(a.status).toBe(401);
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${(await import('node:fs')).readFileSync(server.adminTokenPath, 'utf8').trim()}` } })).text();
    const refused = metrics.split('\n').filter((l) => l.startsWith('steward_agent_handshakes_refused_total{reason="rate"}'));
    expect(Number(refused[0]?.split(' ')[1])).toBe(busy.length);
  });
});
