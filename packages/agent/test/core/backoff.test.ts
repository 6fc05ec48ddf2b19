import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backoff, jittered, RECOVERY_CAP_MS, RECOVERY_TRIES, RECOVERY_WINDOW_MS, retryAfterMs } from '../../src/backoff.js';

describe('reconnect backoff with full jitter', () => {
  it('each wait lies in [0, min(max, initial·2^n)] and the ceiling reaches max', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 120_000 }), fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), { minLength: 1, maxLength: 40 }), (initial, max, randoms) => {
        let i = 0;
        const b = new Backoff(initial, max, () => randoms[i]!);
        for (i = 0; i < randoms.length; i++) {
          const d = b.next();
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(Math.min(max, initial * 2 ** i));
        }
      }),
    );
  });

  it('uses the defaults 1 s → 60 s and starts over after reset', () => {
    const b = new Backoff(1000, 60_000, () => 0.999999);
    const waits = Array.from({ length: 9 }, () => b.next());
    expect(waits).toEqual([999, 1999, 3999, 7999, 15_999, 31_999, 59_999, 59_999, 59_999]);
    b.reset();
    expect(b.next()).toBe(999);
  });

  it('spreads waits across the whole range (no herd)', () => {
    const b = new Backoff(1000, 60_000);
    for (let i = 0; i < 8; i++) b.next();
    const samples = Array.from({ length: 2000 }, () => new Backoff(60_000, 60_000).next());
    const buckets = new Array(6).fill(0);
    for (const s of samples) buckets[Math.floor(s / 10_000)]++;
    for (const n of buckets) expect(n).toBeGreaterThan(200);
  });

  /** Draws `n` waits, the clock moving on by each (the agent dials when its wait is over). */
  const run = (b: Backoff, clock: { now: number }, n: number): number[] =>
    Array.from({ length: n }, () => {
      const w = b.next();
      clock.now += w;
      return w;
    });

  it('after a welcome, caps the next run at 8 s for its first minute (and at least 8 retries), then grows on from there to the ceiling', () => {
    const clock = { now: 0 };
    const b = new Backoff(1000, 60_000, () => 0.999999, RECOVERY_TRIES, RECOVERY_CAP_MS, RECOVERY_WINDOW_MS, () => clock.now);
    run(b, clock, 12); // a long run before the first welcome: at the ceiling
    b.reset();
    const waits = run(b, clock, 13);
    // 999 + 1999 + 3999 + 7999 × 7 = 62,990 ms: the minute is over after the 10th wait.
    expect(waits).toEqual([999, 1999, 3999, 7999, 7999, 7999, 7999, 7999, 7999, 7999, 15_999, 31_999, 59_999]);
    expect(waits.slice(0, RECOVERY_TRIES).every((w) => w < RECOVERY_CAP_MS)).toBe(true);
  });

  it('does not send an agent that drew short waits towards the ceiling while the outage is shorter than a minute', () => {
    // Short draws use the 8 capped retries up in seconds; a 15-40 s outage must still find every wait within the cap.
    const clock = { now: 0 };
    const b = new Backoff(1000, 60_000, () => (clock.now < RECOVERY_WINDOW_MS ? 0.05 : 0.999999), RECOVERY_TRIES, RECOVERY_CAP_MS, RECOVERY_WINDOW_MS, () => clock.now);
    b.reset();
    const waits: number[] = [];
    while (clock.now < RECOVERY_WINDOW_MS) waits.push(...run(b, clock, 1));
    expect(waits.length).toBeGreaterThan(RECOVERY_TRIES);
    expect(waits.every((w) => w < RECOVERY_CAP_MS)).toBe(true);
    // Once the minute is over the run grows on: 16 s, then 32 s.
    expect(run(b, clock, 2)).toEqual([15_999, 31_999]);
  });

  it('keeps full jitter in the capped run (waits spread over [0, cap])', () => {
    const b = new Backoff(1000, 60_000);
    b.reset();
    for (let i = 0; i < 4; i++) b.next();
    const samples = Array.from({ length: 2000 }, () => {
      const r = new Backoff(1000, 60_000);
      r.reset();
      for (let i = 0; i < 5; i++) r.next();
      return r.next();
    });
    const buckets = new Array(4).fill(0);
    for (const s of samples) buckets[Math.floor(s / 2000)]++;
    for (const n of buckets) expect(n).toBeGreaterThan(300);
  });

  it("reads a 503's Retry-After (seconds or a date), adds at most a second of jitter, bounds it by the ceiling", () => {
    expect(retryAfterMs('3', 60_000, 0, () => 0)).toBe(3000);
    expect(retryAfterMs('3', 60_000, 0, () => 0.999999)).toBe(3600);
    expect(retryAfterMs('10', 60_000, 0, () => 0.999999)).toBe(11_000);
    expect(retryAfterMs(new Date(5000).toUTCString(), 60_000, 0, () => 0)).toBe(5000);
    expect(retryAfterMs('3600', 60_000, 0, () => 0)).toBe(60_000);
    expect(retryAfterMs(undefined, 60_000)).toBeNull();
    expect(retryAfterMs('soon', 60_000)).toBeNull();
  });

  it('jitters heartbeats by ±10 %', () => {
    expect(jittered(15_000, 0.1, () => 0)).toBe(13_500);
    expect(jittered(15_000, 0.1, () => 1)).toBe(16_500);
  });
});
