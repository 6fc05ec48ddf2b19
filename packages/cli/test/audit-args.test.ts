import { describe, expect, it } from 'vitest';
import { awaitingApprovalNote, sinceTime } from '../src/commands/audit.js';

describe('steward audit --since', () => {
  it('takes a duration ago or an ISO time, and refuses anything else', () => {
    const now = Date.parse('2026-11-30T12:00:00Z');
    expect(sinceTime('2h', now)).toBe(now - 7_200_000);
    expect(sinceTime('7d', now)).toBe(now - 7 * 86_400_000);
    expect(sinceTime('2026-11-30T10:00:00Z', now)).toBe(Date.parse('2026-11-30T10:00:00Z'));
    expect(() => sinceTime('yesterday', now)).toThrow('a duration (30m, 2h, 7d) or an ISO time');
  });
});

describe('the awaiting-approval note', () => {
  it('names what waits and the command that approves it', () => {
    expect(awaitingApprovalNote('cmd_1')).toBe('cmd_1 awaiting approval by a second operator (they run: steward approve cmd_1)');
    expect(awaitingApprovalNote('job_1', 3)).toBe('job job_1: 3 nodes awaiting approval by a second operator (they run: steward approve job_1)');
  });
});
