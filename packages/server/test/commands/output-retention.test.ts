import { describe, expect, it } from 'vitest';
import { DEFAULT_OUTPUT_RETENTION_MS, outputRetentionMs } from '../../src/commands/output-retention.js';

describe('output retention setting', () => {
  it('option over environment over 30 days; 0 and off keep forever; nonsense and less than an hour are refused', () => {
    expect(outputRetentionMs(undefined, {})).toBe(DEFAULT_OUTPUT_RETENTION_MS);
    expect(outputRetentionMs(undefined, { STEWARD_OUTPUT_RETENTION: '12h' })).toBe(12 * 3_600_000);
    expect(outputRetentionMs('7d', { STEWARD_OUTPUT_RETENTION: '12h' })).toBe(7 * 86_400_000);
    expect(outputRetentionMs('off', {})).toBeNull();
    expect(outputRetentionMs(undefined, { STEWARD_OUTPUT_RETENTION: '0' })).toBeNull();
    expect(() => outputRetentionMs('soon', {})).toThrow(/outputRetention.*not a duration/);
    // A recording is made from a session's output after it ends: an hour is the least that keeps it findable.
    expect(() => outputRetentionMs(undefined, { STEWARD_OUTPUT_RETENTION: '30m' })).toThrow(/STEWARD_OUTPUT_RETENTION.*shorter than the least allowed \(60 minutes\)/);
  });
});
