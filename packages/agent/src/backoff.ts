import { backoffMs } from '@steward/protocol';

/**
 * After a welcome, retries wait at most `RECOVERY_CAP_MS` each for at least `RECOVERY_TRIES`
 * retries and at least `RECOVERY_WINDOW_MS` after the first of them (docs/reconnect.md).
 */
export const RECOVERY_TRIES = 8;
export const RECOVERY_CAP_MS = 8000;
/**
 * As long as the 60 s ceiling: an outage shorter than the ceiling never sends an agent to wait
 * near it. Counted in retries alone (8), the capped run of an agent that drew short waits was
 * over after ~15 s, and a 15–40 s outage (a control plane that took 20 s to start on a loaded
 * machine) left such agents drawing 16–60 s waits: modelled at 10,000 agents, all back after
 * 52–60 s instead of the ~33 s the admission rate allows.
 */
export const RECOVERY_WINDOW_MS = 60_000;

/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And
 * Jitter"): the n-th wait is uniform in [0, min(max, initial·2^n)], so a fleet that lost its
 * control plane at one instant comes back spread out instead of as a herd.
 *
 * After a welcome (`reset`), the next run is capped at `recoveryCapMs` for its first
 * `recoveryTries` waits and its first `recoveryWindowMs` (whichever ends later), and only then
 * grows on towards `max`: a control plane that was healthy a moment ago is most likely
 * restarting, and a short outage must not leave agents that drew a wait near the 60 s ceiling
 * offline for a minute. A run that never got a welcome (the server is not there at all) grows as before.
 */
export class Backoff {
  private attempt = 0;
  private recovering = false;
  /** When the current capped run's first wait was drawn (the drop), ms; null before it. */
  private runStartedAt: number | null = null;
  /** Waits drawn since the capped run ended. */
  private grown = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
    private readonly recoveryTries = RECOVERY_TRIES,
    private readonly recoveryCapMs = RECOVERY_CAP_MS,
    private readonly recoveryWindowMs = RECOVERY_WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  next(): number {
    const k = this.attempt;
    this.attempt = Math.min(this.attempt + 1, 60);
    if (!this.recovering) return this.draw(this.maxMs, Math.min(k, 30));
    const now = this.now();
    this.runStartedAt ??= now;
    if (k < this.recoveryTries || now - this.runStartedAt < this.recoveryWindowMs) return this.draw(Math.min(this.maxMs, this.recoveryCapMs), Math.min(k, 30));
    // Past the capped run: grow on from the cap, not from the bottom (nor jump to the ceiling).
    this.grown++;
    const capStep = Math.max(0, Math.ceil(Math.log2(Math.max(1, this.recoveryCapMs / this.initialMs))));
    return this.draw(this.maxMs, Math.min(capStep + this.grown, 30));
  }

  /** A control plane welcomed us: the next drop starts a capped run from the bottom. */
  reset(): void {
    this.attempt = 0;
    this.recovering = true;
    this.runStartedAt = null;
    this.grown = 0;
  }

  private draw(maxMs: number, step: number): number {
    return backoffMs({ kind: 'full-jitter', initialMs: this.initialMs, maxMs }, step, this.random);
  }
}

/** A period spread by ±`spread` (0.1 = ±10 %), so heartbeats of many agents do not align. */
export function jittered(periodMs: number, spread = 0.1, random: () => number = Math.random): number {
  return Math.round(periodMs * (1 - spread + 2 * spread * random()));
}

/**
 * The wait a 503's `Retry-After` asks for (seconds, or an HTTP date), in ms, plus up to a
 * second (or a fifth of it, if less) of jitter; null when absent or unreadable. Bounded by
 * `maxMs`, so a wrong header cannot park the agent longer than its own ceiling.
 */
export function retryAfterMs(header: string | string[] | undefined, maxMs: number, now = Date.now(), random: () => number = Math.random): number | null {
  const v = Array.isArray(header) ? header[0] : header;
  if (!v) return null;
  let ms: number;
  if (/^\d+$/.test(v.trim())) ms = Number(v.trim()) * 1000;
  else {
    const at = Date.parse(v);
    if (Number.isNaN(at)) return null;
    ms = Math.max(0, at - now);
  }
  ms = Math.min(ms, maxMs);
  return Math.round(ms + random() * Math.min(1000, ms / 5));
}
