import { backoffMs } from '@steward/protocol';

/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And
 * Jitter"): the n-th wait is uniform in [0, min(max, initial·2^n)], so a fleet that lost its
 * control plane at one instant comes back spread out instead of as a herd.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const step = this.attempt;
    this.attempt = Math.min(this.attempt + 1, 30);
    return backoffMs({ kind: 'full-jitter', initialMs: this.initialMs, maxMs: this.maxMs }, step, this.random);
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** A period spread by ±`spread` (0.1 = ±10 %), so heartbeats of many agents do not align. */
export function jittered(periodMs: number, spread = 0.1, random: () => number = Math.random): number {
  return Math.round(periodMs * (1 - spread + 2 * spread * random()));
}
