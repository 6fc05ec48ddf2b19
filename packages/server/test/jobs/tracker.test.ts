import { describe, expect, it, vi } from 'vitest';
import { JobTracker } from '../../src/jobs/tracker.js';
import type { StewardEvent } from '@steward/protocol';
import { getJobRow, insertJob } from '../../src/store/queries/jobs.js';
import { insertCommands, transitionCommand } from '../../src/store/queries/commands.js';
import { insertNode } from '../../src/store/queries/nodes.js';
import { waitFor } from '../../../../test/support/wait.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { testContext } from '../helpers/context.js';
import { jobCommandRows, jobRow, nodeRow } from '../helpers/rows.js';

describe.each(storeTargets())('job tracker on $name', (target) => {
  const fresh = useFreshStore(target);

  it('a burst of results publishes the counts at most once per interval, the rest after it, and the end at once', async () => {
    const clock = { now: 1_700_000_000_000 };
    const ctx = testContext(fresh.store, clock);
    const nodes = [nodeRow(), nodeRow(), nodeRow()];
    for (const n of nodes) await insertNode(ctx.store.db, n);
    const job = jobRow({ total: 3 });
    await insertJob(ctx.store.db, job);
    const rows = jobCommandRows(job.id, nodes.map((n) => n.id), { state: 'running' });
    await insertCommands(ctx.store.db, rows);
    const events: Extract<StewardEvent, { kind: 'job.state' }>[] = [];
    ctx.bus.subscribe(({ event }) => void (event.kind === 'job.state' && events.push(event)));
    const tracker = new JobTracker(ctx, { deliver: () => {} });
    const end = async (i: number) => {
      await transitionCommand(ctx.store.db, rows[i]!.id, 'succeeded', { finished_at: clock.now });
      tracker.touch(job.id);
      await tracker.idle();
    };
    await end(0);
    expect(events.map((e) => e.counts.succeeded)).toEqual([1]);
    // Within the interval (the clock stands still): counted, not published, until the interval is over.
    await end(1);
    expect(events).toHaveLength(1); // the update ran (idle) and published nothing
    await waitFor('the trailing update after the interval', () => events.length === 2);
    expect(events[1]).toMatchObject({ state: 'running', counts: { succeeded: 2, running: 1 } });
    // Nothing left: the job ends at once, within the interval.
    await end(2);
    expect(events.at(-1)).toMatchObject({ state: 'succeeded', counts: { succeeded: 3 } });
    expect((await getJobRow(ctx.store.db, job.id))?.state).toBe('succeeded');
  });

  it('a job whose update met an unreachable store is updated once the store answers again', async () => {
    const ctx = testContext(fresh.store);
    const node = nodeRow();
    await insertNode(ctx.store.db, node);
    const job = jobRow({ total: 1 });
    await insertJob(ctx.store.db, job);
    await insertCommands(ctx.store.db, jobCommandRows(job.id, [node.id], { state: 'succeeded' }));
    // The store is down for the first update (a PostgreSQL restart): its query fails to connect.
    const down = vi.spyOn(ctx.store.db, 'selectFrom').mockImplementationOnce(() => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    });
    const tracker = new JobTracker(ctx, { deliver: () => {} });
    tracker.touch(job.id);
    await tracker.idle();
    expect(down).toHaveBeenCalled();
    expect((await getJobRow(ctx.store.db, job.id))?.state).toBe('running');
    down.mockRestore();
    // No new result touches the job: the retry alone finishes it.
    await waitFor('the job finished by the retry', async () => (await getJobRow(ctx.store.db, job.id))?.state === 'succeeded', { timeoutMs: 10_000 });
  });
});
