import { describe, expect, it } from 'vitest';
import { whyText } from '../src/commands/services.js';

describe('services show: WHY', () => {
  const outcome = { kind: 'rolled_back', version: '1.1', reason: 'health check failed', at: 1 } as const;

  it('says a rollback once when the reason already says it', () => {
    expect(whyText({ reason: 'rolled back from 1.1: health check failed', lastOutcome: outcome })).toBe('rolled back from 1.1: health check failed');
  });

  it('adds the rollback when the reason is about something else, and says nothing when there is nothing', () => {
    expect(whyText({ reason: 'restarting after a crash', lastOutcome: outcome })).toBe('restarting after a crash; rolled back from 1.1: health check failed');
    expect(whyText({ reason: null, lastOutcome: null })).toBe('');
  });
});
