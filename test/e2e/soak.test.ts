import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatReport } from '../soak/report.js';
import { runSoak } from '../soak/run.js';

/**
 * Violations the soak finds that are open product issues, each with why (docs/soak.md#findings).
 * They are printed, and the invariant must still have been checked, but they do not fail the
 * suite; every other invariant must hold. Remove an entry once its issue is fixed.
 */
const OPEN: Record<string, string> = {
  // 'no task ran twice at once' was listed here until task fencing (docs/tasks.md#fencing).
};

/**
 * Issue 16 item 6, the suite's short version of `npm run soak`: two minutes of commands, jobs,
 * tasks and service changes under kill -9 of agents and replicas, cut and frozen connections
 * and PostgreSQL restarts; then every invariant must hold and every kind of fault must have
 * happened. The seed is printed; STEWARD_SOAK_SEED replays a failing run's choices.
 */
describe('chaos soak (2 minutes)', () => {
  // Start-up ~20 s, 2 min of chaos, the last fault healing (a replica restart takes ~15 s on a
  // loaded 2-core machine) and the drain: ~3 min. The bound leaves room for a slow machine.
  it('every invariant holds and every fault kind was injected', { timeout: 420_000 }, async () => {
    const seed = Number(process.env.STEWARD_SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const report = await runSoak({ minutes: 2, seed, agents: 3, drainMs: 90_000 });
    const table = formatReport(report);
    console.log(table);
    expect(report.error, table).toBeUndefined();
    for (const [kind, n] of Object.entries(report.faults)) expect(n, `${kind} injected\n${table}`).toBeGreaterThanOrEqual(1);
    for (const what of ['commands', 'jobs', 'tasks', 'serviceChanges', 'webhookReceipts']) expect(report.workload[what], `${what}\n${table}`).toBeGreaterThan(0);
    for (const inv of report.invariants) {
      expect(inv.checked, `${inv.name} checked\n${table}`).toBeGreaterThan(0);
      if (inv.violated && OPEN[inv.name]) console.warn(`soak: ${inv.violated} violation(s) of "${inv.name}", an open issue: ${OPEN[inv.name]}`);
      else expect(inv.violated, `${inv.name}\n${table}`).toBe(0);
    }
    // Every invariant held: nothing in the run's directory is needed any more (a failing run keeps it).
    if (report.dir) rmSync(report.dir, { recursive: true, force: true });
  });
});
