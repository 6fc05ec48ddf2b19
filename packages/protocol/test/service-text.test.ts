import { describe, expect, it } from 'vitest';
import { healthText, restartText } from '../src/service-text.js';

describe('service settings in words', () => {
  it('says the restart policy that is set, and "defaults" when none is', () => {
    expect(restartText(undefined)).toBe('defaults');
    expect(restartText({})).toBe('defaults');
    expect(restartText({ policy: 'on-failure', initialDelayMs: 1000, maxDelayMs: 30_000, multiplier: 2, resetAfterMs: 60_000, fatalAfter: { crashes: 5, withinMs: 60_000 } })).toBe(
      'on-failure; backoff 1s → 30s (×2); backoff resets after 1m up; fatal after 5 crashes within 1m',
    );
    expect(restartText({ maxDelayMs: 500 })).toBe('backoff default → 500ms');
  });

  it('says the health probes and their timings', () => {
    expect(healthText(undefined)).toBe('none');
    expect(healthText({ http: { url: 'http://127.0.0.1:8080/health', expectStatus: 200 }, intervalMs: 250, timeoutMs: 1000, graceMs: 90_000 })).toBe(
      'http http://127.0.0.1:8080/health → 200, every 250ms, timeout 1s, must pass within 1m30s of a start',
    );
    expect(healthText({ tcp: { port: 5432 }, exec: { command: 'pg_isready', args: ['-q'] } })).toBe('tcp 127.0.0.1:5432 and exec pg_isready -q');
  });
});
