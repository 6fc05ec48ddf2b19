import { describe, expect, it, vi } from 'vitest';
import { JobTracker } from '../../src/jobs/tracker.js';
import { getJobRow, insertJob } from '../../src/store/queries/jobs.js';
import { insertCommands } from '../../src/store/queries/commands.js';
import { insertNode } from '../../src/store/queries/nodes.js';
import { waitFor } from '../../../../test/support/wait.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { testContext } from '../helpers/context.js';
import { jobCommandRows, jobRow, nodeRow } from '../helpers/rows.js';

describe.each(storeTargets())('job tracker on $name', (target) => {
  const fresh = useFreshStore(target);

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
