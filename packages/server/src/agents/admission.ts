import { UnavailableError } from '@steward/protocol';

/** What an admitted handshake holds; `release` is idempotent (welcome, failure and a lost socket may all call it). */
export interface HandshakeTicket {
  release(): void;
}

export interface HandshakeAdmissionOptions {
  /** Handshakes in progress at once (`limits.agentHandshakes`). */
  maxInProgress: number;
  /** Accepts per second, sustained (`limits.agentAcceptsPerSecond`); the burst is one second's worth. */
  acceptsPerSecond: number;
  now?: () => number;
  random?: () => number;
  /** Agent connections held at once (`limits.agentConnections`, else from the open-file limit); unset: no cap. */
  maxConnections?: number;
  /** Agent connections held now (the hub's sessions, handshakes included). */
  connections?: () => number;
  /** Called on each refusal (a metric; a log line for `capacity`). */
  refused?: (reason: RefusalReason) => void;
  /** A ticket never released (an upgrade lost without a close) is freed after this long. */
  ticketTtlMs?: number;
}

export type RefusalReason = 'in_progress' | 'rate' | 'capacity';

/** Retry-After bounds, seconds: at least one (the header's unit), at most ten (a refused agent must not wait longer than a short outage). */
export const RETRY_AFTER_MIN_S = 1;
export const RETRY_AFTER_MAX_S = 10;

/**
 * Admission control for agent connections (docs/reconnect.md). After a control-plane restart
 * every agent redials within seconds; each handshake costs a TLS/WebSocket upgrade, an
 * authentication (hash + query) and a hello (store writes). Unbounded, they saturate the one
 * event loop and /healthz stops answering. Here at most `maxInProgress` handshakes run at once
 * and at most `acceptsPerSecond` start per second; the rest are refused before the upgrade with
 * 503 `agents_busy` and a Retry-After that spreads them over the time the backlog needs at the
 * accept rate (plus jitter), which the agent honours instead of its own backoff draw.
 */
export class HandshakeAdmission {
  private inProgress = 0;
  private tokens: number;
  private tokensAt: number;
  /** When the last refused agent was told to come back (ms): each refusal books the next free accept slot. */
  private bookedUntil = 0;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly ttlMs: number;

  constructor(private readonly o: HandshakeAdmissionOptions) {
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
    this.ttlMs = o.ticketTtlMs ?? 30_000;
    this.tokens = o.acceptsPerSecond;
    this.tokensAt = this.now();
  }

  /** Handshakes admitted and not yet released. */
  get active(): number {
    return this.inProgress;
  }

  /** Admits one handshake or throws UnavailableError (503 `agents_busy`, Retry-After). */
  admit(): HandshakeTicket {
    const now = this.now();
    this.refill(now);
    // Checked first: an agent over the cap would find no room once past the other two either.
    if (this.o.maxConnections !== undefined && (this.o.connections?.() ?? 0) >= this.o.maxConnections) this.refuseFull();
    if (this.inProgress >= this.o.maxInProgress) this.refuse(now, 'in_progress');
    if (this.tokens < 1) this.refuse(now, 'rate');
    this.tokens -= 1;
    this.inProgress++;
    let held = true;
    const timer = setTimeout(() => release(), this.ttlMs);
    timer.unref();
    const release = (): void => {
      if (!held) return;
      held = false;
      clearTimeout(timer);
      this.inProgress--;
    };
    return { release };
  }

  /** Seconds a refused agent is asked to wait now: the booked backlog at the accept rate, jittered, within the bounds. */
  retryAfterSeconds(now = this.now()): number {
    const slotMs = 1000 / this.o.acceptsPerSecond;
    // Booked no further than the longest wait handed out: past it agents are spread by their own retries.
    this.bookedUntil = Math.min(Math.max(this.bookedUntil, now) + slotMs, now + RETRY_AFTER_MAX_S * 1000);
    const backlogS = Math.ceil((this.bookedUntil - now) / 1000);
    // Up to two seconds of jitter, so agents booked into the same second do not arrive as one.
    const jitter = Math.floor(this.random() * 3);
    return Math.min(RETRY_AFTER_MAX_S, Math.max(RETRY_AFTER_MIN_S, backlogS + jitter));
  }

  private refuse(now: number, reason: 'in_progress' | 'rate'): never {
    this.o.refused?.(reason);
    const retryAfterSeconds = this.retryAfterSeconds(now);
    throw new UnavailableError('agents_busy', 'the control plane is admitting many agents at once; retry after the Retry-After seconds', retryAfterSeconds, { retryAfterSeconds, reason });
  }

  /**
   * No backlog to spread here: room comes back only as agents leave, so the agent is asked to wait
   * the longest (8–10 s) and keeps asking; the operator sees it in the log and the metric.
   */
  private refuseFull(): never {
    this.o.refused?.('capacity');
    const retryAfterSeconds = RETRY_AFTER_MAX_S - Math.floor(this.random() * 3);
    throw new UnavailableError('agents_busy', 'the control plane holds as many agent connections as it may (limits.agentConnections, or its open-file limit); retry after the Retry-After seconds', retryAfterSeconds, {
      retryAfterSeconds,
      reason: 'capacity',
    });
  }

  private refill(now: number): void {
    const rate = this.o.acceptsPerSecond;
    this.tokens = Math.min(rate, this.tokens + ((now - this.tokensAt) * rate) / 1000);
    this.tokensAt = now;
  }
}
