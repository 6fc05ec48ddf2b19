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

/** A refused handshake: why, and the Retry-After (seconds) the agent is told. */
export interface AgentsBusy {
  reason: RefusalReason;
  retryAfterSeconds: number;
}

export const AGENTS_BUSY_MESSAGE = 'the control plane is admitting many agents at once; retry after the Retry-After seconds';
export const AGENTS_FULL_MESSAGE = 'the control plane holds as many agent connections as it may (limits.agentConnections, or its open-file limit); retry after the Retry-After seconds';

/** What the agent is told for a refusal of this reason. */
export function agentsBusyMessage(reason: RefusalReason): string {
  return reason === 'capacity' ? AGENTS_FULL_MESSAGE : AGENTS_BUSY_MESSAGE;
}

/** The 503 `agents_busy` body, as the error handler would write it for the UnavailableError. */
export function agentsBusyBody(busy: AgentsBusy): string {
  return JSON.stringify({ error: { code: 'agents_busy', message: agentsBusyMessage(busy.reason), details: { retryAfterSeconds: busy.retryAfterSeconds, reason: busy.reason } } });
}

/** Window over which the handshakes actually served per second are counted, ms. */
const RATE_WINDOW_MS = 2000;
/** Refusals are booked at no fewer than this many handshakes a second (a stalled window must not book everyone for the cap). */
const MIN_BOOKING_RATE = 10;

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
  /** Handshakes admitted and finished in the current and the previous rate window (RATE_WINDOW_MS). */
  private window = { startedAt: 0, admitted: 0, finished: 0, prevAdmitted: 0, prevFinished: 0 };

  constructor(private readonly o: HandshakeAdmissionOptions) {
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
    this.ttlMs = o.ticketTtlMs ?? 30_000;
    this.tokens = o.acceptsPerSecond;
    this.tokensAt = this.now();
    this.window.startedAt = this.tokensAt;
  }

  /** Handshakes admitted and not yet released. */
  get active(): number {
    return this.inProgress;
  }

  /** Admits one handshake or throws UnavailableError (503 `agents_busy`, Retry-After). */
  admit(): HandshakeTicket {
    const verdict = this.offer();
    if ('ticket' in verdict) return verdict.ticket;
    throw new UnavailableError('agents_busy', agentsBusyMessage(verdict.reason), verdict.retryAfterSeconds, { retryAfterSeconds: verdict.retryAfterSeconds, reason: verdict.reason });
  }

  /**
   * Admits one handshake, or says why not and for how long to wait, without throwing: the
   * refusal path of a storm runs thousands of times a second, and an Error (its stack trace)
   * costs more than the rest of the refusal.
   */
  offer(): { ticket: HandshakeTicket } | AgentsBusy {
    const now = this.now();
    this.refill(now);
    // Checked first: an agent over the cap would find no room once past the other two either.
    if (this.o.maxConnections !== undefined && (this.o.connections?.() ?? 0) >= this.o.maxConnections) return this.refuseFull();
    if (this.inProgress >= this.o.maxInProgress) return this.refuse(now, 'in_progress');
    if (this.tokens < 1) return this.refuse(now, 'rate');
    this.tokens -= 1;
    this.inProgress++;
    this.roll(now).admitted++;
    let held = true;
    const timer = setTimeout(() => release(), this.ttlMs);
    timer.unref();
    const release = (): void => {
      if (!held) return;
      held = false;
      clearTimeout(timer);
      this.inProgress--;
      this.roll(this.now()).finished++;
    };
    return { ticket: { release } };
  }

  /**
   * Handshakes per second this control plane gets through now: the accept rate, or less when
   * the previous window (a storm) finished fewer, e.g. because `maxInProgress` binds and
   * each handshake takes long. With no handshakes in the previous window (idle until this
   * burst) nothing is known and the accept rate stands.
   */
  servedPerSecond(now = this.now()): number {
    const w = this.roll(now);
    if (w.prevAdmitted === 0 && w.prevFinished === 0) return this.o.acceptsPerSecond;
    const served = (w.prevFinished * 1000) / RATE_WINDOW_MS;
    return Math.min(this.o.acceptsPerSecond, Math.max(MIN_BOOKING_RATE, served));
  }

  /**
   * Seconds a refused agent is asked to wait now: the booked backlog at the rate handshakes are
   * being served (servedPerSecond), jittered, within the bounds. Booked at the configured accept
   * rate while fewer get through, agents came back before there was room and were refused again
   * and again (each refusal a connection, a request and an answer on both sides).
   */
  retryAfterSeconds(now = this.now()): number {
    const slotMs = 1000 / this.servedPerSecond(now);
    // Booked no further than the longest wait handed out: past it agents are spread by their own retries.
    this.bookedUntil = Math.min(Math.max(this.bookedUntil, now) + slotMs, now + RETRY_AFTER_MAX_S * 1000);
    const backlogS = Math.ceil((this.bookedUntil - now) / 1000);
    // Up to two seconds of jitter, so agents booked into the same second do not arrive as one.
    const jitter = Math.floor(this.random() * 3);
    return Math.min(RETRY_AFTER_MAX_S, Math.max(RETRY_AFTER_MIN_S, backlogS + jitter));
  }

  private refuse(now: number, reason: 'in_progress' | 'rate'): AgentsBusy {
    this.o.refused?.(reason);
    return { reason, retryAfterSeconds: this.retryAfterSeconds(now) };
  }

  /** The rate window holding `now` (a new one once RATE_WINDOW_MS passed; a gap of two windows forgets both). */
  private roll(now: number): HandshakeAdmission['window'] {
    const w = this.window;
    const elapsed = now - w.startedAt;
    if (elapsed >= RATE_WINDOW_MS) {
      const gap = elapsed >= 2 * RATE_WINDOW_MS;
      w.prevAdmitted = gap ? 0 : w.admitted;
      w.prevFinished = gap ? 0 : w.finished;
      w.admitted = 0;
      w.finished = 0;
      w.startedAt = now - (elapsed % RATE_WINDOW_MS);
    }
    return w;
  }

  /**
   * No backlog to spread here: room comes back only as agents leave, so the agent is asked to wait
   * the longest (8–10 s) and keeps asking; the operator sees it in the log and the metric.
   */
  private refuseFull(): AgentsBusy {
    this.o.refused?.('capacity');
    return { reason: 'capacity', retryAfterSeconds: RETRY_AFTER_MAX_S - Math.floor(this.random() * 3) };
  }

  private refill(now: number): void {
    const rate = this.o.acceptsPerSecond;
    this.tokens = Math.min(rate, this.tokens + ((now - this.tokensAt) * rate) / 1000);
    this.tokensAt = now;
  }
}
