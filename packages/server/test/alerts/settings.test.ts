import { describe, expect, it } from 'vitest';
import { ValidationError } from '@steward/protocol';
import { alertSettingsFrom, backoffDelay, matchesTypePattern } from '../../src/alerts/settings.js';

describe('alert settings', () => {
  it('defaults, and env knobs override them', () => {
    expect(alertSettingsFrom({})).toEqual({
      nodeOfflineDelayMs: 60_000,
      failedCommandTypes: [],
      webhook: { maxAttempts: 8, backoffMs: 2000, backoffMaxMs: 600_000, timeoutMs: 10_000, concurrency: 16, allow: [] },
    });
    const s = alertSettingsFrom({ STEWARD_ALERT_FAILED_COMMANDS: ' nginx.* , backup.run,*', STEWARD_WEBHOOK_MAX_ATTEMPTS: '3', STEWARD_ALERT_NODE_OFFLINE_DELAY_MS: '0' });
    expect(s.failedCommandTypes).toEqual(['nginx.*', 'backup.run', '*']);
    expect(s.webhook.maxAttempts).toBe(3);
    expect(s.nodeOfflineDelayMs).toBe(0);
  });

  it('refuses bad values naming the variable', () => {
    for (const env of [{ STEWARD_WEBHOOK_MAX_ATTEMPTS: '0' }, { STEWARD_WEBHOOK_BACKOFF_MS: '1.5' }, { STEWARD_ALERT_FAILED_COMMANDS: 'Bad Type' }]) {
      const name = Object.keys(env)[0]!;
      expect(() => alertSettingsFrom(env)).toThrow(ValidationError);
      try {
        alertSettingsFrom(env);
      } catch (e) {
        expect((e as ValidationError).details).toEqual({ issues: [expect.objectContaining({ field: name })] });
      }
    }
  });

  it('matches command types by exact name, prefix.* and *', () => {
    expect(matchesTypePattern(['nginx.*'], 'nginx.site.apply')).toBe(true);
    expect(matchesTypePattern(['nginx.*'], 'nginxx.run')).toBe(false);
    expect(matchesTypePattern(['backup.run'], 'backup.run')).toBe(true);
    expect(matchesTypePattern(['backup.run'], 'backup.verify')).toBe(false);
    expect(matchesTypePattern(['*'], 'exec.run')).toBe(true);
    expect(matchesTypePattern([], 'exec.run')).toBe(false);
  });

  it('backoff doubles from the base and stops at the cap', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, 1000, 5000))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });
});
