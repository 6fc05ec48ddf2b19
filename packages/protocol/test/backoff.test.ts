import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffMs } from '../src/backoff.js';

const ms = fc.integer({ min: 0, max: 3_600_000 });
const step = fc.integer({ min: 0, max: 2000 });
const multiplier = fc.double({ min: 1, max: 10, noNaN: true });
const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('backoffMs', () => {
  it('fixed: the same wait at every step', () => {
    fc.assert(fc.property(ms, step, (delayMs, n) => {
        expect(backoffMs({ kind: 'fixed', delayMs }, n)).toBe(delayMs);
      }),
    );
  });

  it('exponential: whole milliseconds, never above max, never shrinking from one step to the next', () => {
    fc.assert(
      fc.property(ms, ms, multiplier, step, (initialMs, maxMs, m, n) => {
        const p = { kind: 'exponential', initialMs, maxMs, multiplier: m } as const;
        const d = backoffMs(p, n);
        expect(Number.isInteger(d)).toBe(true);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(maxMs);
        expect(backoffMs(p, n + 1)).toBeGreaterThanOrEqual(d);
      }),
    );
  });

  it('exponential: initial × multiplier^step until the cap, doubling by default', () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffMs({ kind: 'exponential', initialMs: 2000, maxMs: 40_000 }, n))).toEqual([
      2000, 4000, 8000, 16_000, 32_000, 40_000,
    ]);
    expect([0, 1, 2, 3].map((n) => backoffMs({ kind: 'exponential', initialMs: 100, maxMs: 15_000, multiplier: 1.5 }, n))).toEqual([
      100, 150, 225, 338,
    ]);
    // Far past the point where multiplier^step overflows: the cap, not NaN.
    expect(backoffMs({ kind: 'exponential', initialMs: 100, maxMs: 15_000, multiplier: 1.5 }, 5000)).toBe(15_000);
    expect(backoffMs({ kind: 'exponential', initialMs: 0, maxMs: 15_000, multiplier: 1.5 }, 5000)).toBe(0);
  });

  it('full jitter: a whole number in [0, the exponential ceiling), spanning it as random spans [0, 1)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60_000 }), fc.integer({ min: 1, max: 600_000 }), step, unit, (initialMs, maxMs, n, r) => {
        const ceiling = Math.min(maxMs, initialMs * 2 ** n);
        const d = backoffMs({ kind: 'full-jitter', initialMs, maxMs }, n, () => r);
        expect(Number.isInteger(d)).toBe(true);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(ceiling);
        expect(backoffMs({ kind: 'full-jitter', initialMs, maxMs }, n, () => 0)).toBe(0);
        expect(backoffMs({ kind: 'full-jitter', initialMs, maxMs }, n, () => 0.999999)).toBe(Math.floor(0.999999 * ceiling));
      }),
    );
  });

  it('full jitter: uses the injected random, and Math.random without one', () => {
    const p = { kind: 'full-jitter', initialMs: 1000, maxMs: 60_000 } as const;
    expect(backoffMs(p, 3, () => 0.5)).toBe(4000);
    const samples = Array.from({ length: 500 }, () => backoffMs(p, 3));
    expect(new Set(samples).size).toBeGreaterThan(100);
    expect(Math.max(...samples)).toBeLessThan(8000);
  });
});
