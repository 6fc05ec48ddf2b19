import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TooManyRequestsError } from '@steward/protocol';
import type { Metrics } from '../core/metrics.js';

/** Sources remembered at once; past this the longest-known one is forgotten (a spray of addresses cannot grow memory). */
const MAX_SOURCES = 10_000;

/**
 * Failed authentications per source address in a sliding window: the times of the last `max`
 * failures are kept, and a source is held off while `max` of them lie inside the window. In
 * memory, per replica: behind a load balancer spreading one source over N replicas, a source
 * gets up to N × `max` tries per window.
 */
export class FailureWindow {
  private readonly bySource = new Map<string, number[]>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  /** Whole seconds until the source may try again; 0 when it may now. */
  retryAfter(source: string, now: number): number {
    const times = this.bySource.get(source);
    if (!times) return 0;
    while (times.length && times[0]! <= now - this.windowMs) times.shift();
    if (times.length === 0) this.bySource.delete(source);
    if (times.length < this.max) return 0;
    return Math.max(1, Math.ceil((times[0]! + this.windowMs - now) / 1000));
  }

  fail(source: string, now: number): void {
    let times = this.bySource.get(source);
    if (!times) {
      if (this.bySource.size >= MAX_SOURCES) this.bySource.delete(this.bySource.keys().next().value!);
      this.bySource.set(source, (times = []));
    }
    times.push(now);
    if (times.length > this.max) times.shift();
  }
}

/** Requests that present a credential of some kind: the operator API, agents' routes, metrics. */
function needsAuth(req: FastifyRequest): boolean {
  const url = req.url;
  return url.startsWith('/api/') || url.startsWith('/agent/') || url.startsWith('/metrics') || req.headers.authorization !== undefined;
}

/**
 * 429 `too_many_auth_failures` with `Retry-After` for every request needing authentication from
 * a source that failed it `max` times within the window (operator tokens, node credentials and
 * enrollment tokens alike: each answers 401). Other sources are not affected.
 */
export function limitAuthFailures(app: FastifyInstance, o: { max: number; windowMs: number; metrics: Metrics; now?: () => number }): void {
  const window = new FailureWindow(o.max, o.windowMs);
  const now = o.now ?? Date.now;
  const failures = o.metrics.counter({ name: 'steward_auth_failures_total', help: 'Requests answered 401 (bad or missing token or credential)' });
  const throttled = o.metrics.counter({ name: 'steward_auth_throttled_total', help: 'Requests answered 429 because their source failed authentication too often' });
  app.addHook('onRequest', async (req) => {
    if (!needsAuth(req)) return;
    const wait = window.retryAfter(req.ip, now());
    if (wait === 0) return;
    throttled.inc();
    throw new TooManyRequestsError('too_many_auth_failures', `too many failed authentications from ${req.ip}; try again in ${wait} s`, wait);
  });
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode !== 401) return;
    failures.inc();
    window.fail(req.ip, now());
  });
}
