import { describe, expect, it } from 'vitest';
import { taskRuns, webhookChecks } from './checker.js';

/** The soak's own checks must be able to fail: a checker that never reports anything proves nothing. */
describe('soak checker', () => {
  it('finds two runs of one task that overlap, and not runs one after the other', () => {
    const lines = [
      'start t-a at_1 n0 1000', 'tick t-a at_1 n0 1250', 'end t-a at_1 n0 1500',
      // t-a again after the first ended (a retry): fine.
      'start t-a at_2 n1 1600', 'end t-a at_2 n1 2000',
      // t-b: a second attempt starts while the first (killed without an end) still ticked.
      'start t-b at_3 n0 1000', 'tick t-b at_3 n0 1250', 'start t-b at_4 n1 1200', 'end t-b at_4 n1 1700',
      // t-c: a long run containing a short later one, then a third after both.
      'start t-c at_5 n0 1000', 'start t-c at_6 n1 1100', 'end t-c at_6 n1 1200', 'end t-c at_5 n0 3000', 'start t-c at_7 n2 3500',
      'a torn line',
    ];
    const byMark = Object.fromEntries(taskRuns(lines).map((r) => [r.mark, r]));
    expect(byMark['t-a']).toEqual({ mark: 't-a', runs: 2, overlap: null });
    expect(byMark['t-b']!.overlap).toEqual([
      { run: 'at_3', node: 'n0', start: 1000, last: 1250 },
      { run: 'at_4', node: 'n1', start: 1200, last: 1700 },
    ]);
    expect(byMark['t-c']!.runs).toBe(3);
    expect(byMark['t-c']!.overlap!.map((r) => r.run)).toEqual(['at_5', 'at_6']);
    expect(Object.keys(byMark)).toEqual(['t-a', 't-b', 't-c']);
  });

  it('finds a delivery received twice and one subject delivered under two ids', () => {
    const r = (delivery: string, subject: string) => ({ delivery, event: 'command.finished', subject, at: 0 });
    const bad = webhookChecks([r('whd_1', 'cmd_1'), r('whd_2', 'cmd_2'), r('whd_2', 'cmd_2'), r('whd_3', 'cmd_3'), r('whd_4', 'cmd_3')]).filter((c) => !c.ok);
    expect(bad).toHaveLength(2);
    expect(bad[0]!.what).toMatch(/^delivery whd_2 \(command.finished cmd_2\) received 2 times/);
    expect(bad[1]!.what).toBe('command.finished cmd_3: 2 deliveries (whd_3, whd_4)');
  });
});
