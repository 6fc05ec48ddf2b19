/**
 * How long to wait before a retry: the one formula for reconnects, service restarts, task retries
 * and webhook redeliveries. Pure functions of the retry's `step` (0 = the first retry); the random
 * source is a parameter so tests can pin it. Browser-safe (`@steward/protocol/backoff`).
 */
export type BackoffPolicy =
  /** The same wait every time. */
  | { kind: 'fixed'; delayMs: number }
  /** initialMs × multiplier^step, rounded to whole milliseconds, at most maxMs. */
  | { kind: 'exponential'; initialMs: number; maxMs: number; multiplier?: number }
  /**
   * Uniform in [0, min(maxMs, initialMs × multiplier^step)), whole milliseconds ("full jitter",
   * AWS architecture blog, "Exponential Backoff And Jitter"): many clients that failed at one
   * instant come back spread out instead of as a herd.
   */
  | { kind: 'full-jitter'; initialMs: number; maxMs: number; multiplier?: number };

/** `random` returns a number in [0, 1), as Math.random does. */
export function backoffMs(policy: BackoffPolicy, step: number, random: () => number = Math.random): number {
  if (policy.kind === 'fixed') return policy.delayMs;
  // 0 × Infinity would be NaN once multiplier^step overflows; no initial wait stays no wait.
  const grown = policy.initialMs === 0 ? 0 : policy.initialMs * (policy.multiplier ?? 2) ** step;
  if (policy.kind === 'exponential') return Math.min(policy.maxMs, Math.round(grown));
  return Math.floor(random() * Math.min(policy.maxMs, grown));
}
