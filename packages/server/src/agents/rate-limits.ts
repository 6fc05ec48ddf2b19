import type { Counter } from 'prom-client';
import type { Logger } from 'pino';
import type { Limits } from '../core/limits.js';

/** Refills continuously at `perMinute`, holds at most `burst`; one message takes one token. */
class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly burst: number,
    private readonly perMinute: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.perMinute) / 60_000);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** What a node's message costs: heartbeats and module events are metered, the rest (results, acks) are not. */
export type MeteredKind = 'heartbeat' | 'event';

/** The verdict on one message: handle it, drop it, or drop it and close the connection (sustained abuse). */
export type Admission = 'ok' | 'drop' | 'close';

interface NodeMeter {
  heartbeat: TokenBucket;
  event: TokenBucket;
  warned: boolean;
  drops: number;
  dropsSince: number;
}

/** Nodes metered at once; past this the longest-known one is forgotten (it starts again with full buckets). */
const MAX_NODES = 100_000;

/**
 * Per-node token buckets for heartbeats and module events, kept across reconnects (a node
 * cannot refill by redialling). Excess is dropped and counted in
 * `steward_agent_messages_dropped_total{reason}`; the node is warned about once in the log;
 * more than `abuseDropsPerMinute` drops in a minute closes its connection.
 */
export class NodeRateLimiter {
  private readonly meters = new Map<string, NodeMeter>();

  constructor(
    private readonly limits: Pick<Limits, 'heartbeatBurst' | 'heartbeatsPerMinute' | 'eventBurst' | 'eventsPerMinute' | 'abuseDropsPerMinute'>,
    private readonly dropped: Counter<'reason'>,
    private readonly log: Logger,
  ) {}

  admit(nodeId: string, kind: MeteredKind, now: number): Admission {
    const m = this.meter(nodeId, now);
    if (m[kind].take(now)) return 'ok';
    this.dropped.inc({ reason: kind === 'heartbeat' ? 'heartbeat_rate' : 'event_rate' });
    if (!m.warned) {
      m.warned = true;
      this.log.warn({ nodeId, kind }, `node sends ${kind}s faster than allowed; the excess is dropped (steward_agent_messages_dropped_total)`);
    }
    if (now - m.dropsSince > 60_000) {
      m.drops = 0;
      m.dropsSince = now;
    }
    return ++m.drops > this.limits.abuseDropsPerMinute ? 'close' : 'drop';
  }

  private meter(nodeId: string, now: number): NodeMeter {
    let m = this.meters.get(nodeId);
    if (!m) {
      if (this.meters.size >= MAX_NODES) this.meters.delete(this.meters.keys().next().value!);
      const l = this.limits;
      m = {
        heartbeat: new TokenBucket(l.heartbeatBurst, l.heartbeatsPerMinute, now),
        event: new TokenBucket(l.eventBurst, l.eventsPerMinute, now),
        warned: false,
        drops: 0,
        dropsSince: now,
      };
      this.meters.set(nodeId, m);
    }
    return m;
  }
}
