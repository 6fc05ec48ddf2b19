import { describe, expect, it } from 'vitest';
import { FailureWindow } from '../../src/http/auth-failures.js';

/** The sliding window behind the 429 on repeated auth failures, on a clock the test moves. */
describe('failed authentications per source in a sliding window', () => {
  it('holds a source off once it failed max times within the window, for as long as the oldest of them stays inside it', () => {
    const w = new FailureWindow(3, 60_000);
    w.fail('127.0.0.2', 0);
    w.fail('127.0.0.2', 10_000);
    expect(w.retryAfter('127.0.0.2', 10_000)).toBe(0);
    w.fail('127.0.0.2', 20_000);
    // The first failure leaves the window at 60 s: 40 s from now.
    expect(w.retryAfter('127.0.0.2', 20_000)).toBe(40);
    expect(w.retryAfter('127.0.0.3', 20_000)).toBe(0);
    expect(w.retryAfter('127.0.0.2', 59_999)).toBe(1);
    // The window slid past the first failure: two remain, one more try is allowed.
    expect(w.retryAfter('127.0.0.2', 60_000)).toBe(0);
    w.fail('127.0.0.2', 60_000);
    expect(w.retryAfter('127.0.0.2', 60_000)).toBe(10);
    expect(w.retryAfter('127.0.0.2', 200_000)).toBe(0);
  });
});
