import { describe, expect, it } from 'vitest';
import { JOB_STATES, JOB_TRANSITIONS } from '@steward/protocol';
import {
  cancelUnfinishedForNode,
  getCommandRow,
  insertCommands,
  listJobCommandPage,
  listJobCommandRows,
  MAX_BIND_PARAMS,
  transitionCommand,
} from '../../src/store/queries/commands.js';
import {
  cancelHeld,
  findJobByRequestId,
  getJobRow,
  insertJob,
  jobCounts,
  listJobRows,
  releaseHeld,
  runningJobIds,
  transitionJob,
} from '../../src/store/queries/jobs.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { jobCommandRows, jobRow, T0 } from '../helpers/rows.js';

const nodes = (n: number) => Array.from({ length: n }, (_, i) => `node_${String(i).padStart(5, '0')}`);

describe.each(storeTargets())('jobs on $name', (target) => {
  const ctx = useFreshStore(target);

  it('inserts a job with 1,200 commands in one transaction and counts them (held as queued)', async () => {
    const store = ctx.store;
    const job = jobRow({ total: 1_200, batch_size: 200 });
    const rows = jobCommandRows(job.id, nodes(1_200)).map((r, i) => (i < 200 ? r : { ...r, held: 1, expires_at: null }));
    await store.tx(async (db) => {
      await insertJob(db, job);
      await insertCommands(db, rows);
    });
    expect(await getJobRow(store.db, job.id)).toEqual(job);
    const stored = await listJobCommandRows(store.db, job.id);
    expect(stored).toHaveLength(1_200);
    expect(stored.map((r) => r.id)).toEqual(rows.map((r) => r.id)); // created_at order
    expect(await jobCounts(store.db, job.id)).toEqual({ pending: 200, queued: 1_000 });

    await transitionCommand(store.db, rows[0]!.id, 'succeeded');
    await transitionCommand(store.db, rows[1]!.id, 'failed');
    await transitionCommand(store.db, rows[2]!.id, 'dispatched');
    expect(await jobCounts(store.db, job.id)).toEqual({ pending: 197, dispatched: 1, succeeded: 1, failed: 1, queued: 1_000 });
    expect(await jobCounts(store.db, 'job_missing')).toEqual({});
  });

  it('releaseHeld frees exactly the n oldest held commands and starts their TTL', async () => {
    const { db } = ctx.store;
    const job = jobRow({ batch_size: 3 });
    const other = jobRow();
    await insertJob(db, job);
    await insertJob(db, other);
    // Insert in shuffled order so "oldest" has to come from created_at, not insertion order.
    const rows = jobCommandRows(job.id, nodes(10), { held: 1, expires_at: null, ttl_ms: 60_000 });
    const shuffled = [rows[7]!, rows[2]!, rows[9]!, rows[0]!, rows[5]!, rows[1]!, rows[8]!, rows[3]!, rows[6]!, rows[4]!];
    const otherRows = jobCommandRows(other.id, nodes(2), { held: 1, expires_at: null, created_at: T0 - 100 });
    await insertCommands(db, [...shuffled, ...otherRows]);

    const now = T0 + 1_000;
    const released = await releaseHeld(db, job.id, 3, now);
    expect(released.map((r) => r.id).sort()).toEqual(rows.slice(0, 3).map((r) => r.id).sort());
    for (const r of released) expect(r).toMatchObject({ held: 0, state: 'pending', expires_at: now + 60_000 });
    expect(await jobCounts(db, job.id)).toEqual({ pending: 3, queued: 7 });
    expect(await jobCounts(db, other.id)).toEqual({ queued: 2 });

    expect(await releaseHeld(db, job.id, 0, now)).toEqual([]);
    expect(await releaseHeld(db, job.id, -1, now)).toEqual([]);
    const rest = await releaseHeld(db, job.id, 100, now + 1);
    expect(rest.map((r) => r.id).sort()).toEqual(rows.slice(3).map((r) => r.id).sort());
    expect(await jobCounts(db, job.id)).toEqual({ pending: 10 });
    expect(await releaseHeld(db, job.id, 5, now + 2)).toEqual([]);
    // Already released commands keep the expiry they got.
    expect((await getCommandRow(db, rows[0]!.id))?.expires_at).toBe(now + 60_000);
  });

  it('transitionJob moves only from running, for every pair of states', async () => {
    const { db } = ctx.store;
    for (const from of JOB_STATES) {
      for (const to of JOB_STATES) {
        const job = jobRow({ state: from });
        await insertJob(db, job);
        const moved = await transitionJob(db, job.id, to, T0 + 5);
        if (JOB_TRANSITIONS[from].includes(to)) {
          expect(moved, `${from} → ${to}`).toEqual({ ...job, state: to, finished_at: T0 + 5 });
        } else {
          expect(moved, `${from} → ${to}`).toBeUndefined();
          expect(await getJobRow(db, job.id), `${from} → ${to}`).toEqual(job);
        }
      }
    }
  });

  it('a job finishes once', async () => {
    const { db } = ctx.store;
    const job = jobRow();
    await insertJob(db, job);
    const results = await Promise.all([
      transitionJob(db, job.id, 'succeeded', T0 + 1),
      transitionJob(db, job.id, 'cancelled', T0 + 2),
      transitionJob(db, job.id, 'failed', T0 + 3),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await runningJobIds(db)).toEqual([]);
  });

  it('cancelHeld cancels the held commands of that job only', async () => {
    const { db } = ctx.store;
    const job = jobRow({ batch_size: 2 });
    await insertJob(db, job);
    const rows = jobCommandRows(job.id, nodes(5)).map((r, i) => (i < 2 ? r : { ...r, held: 1, expires_at: null }));
    const otherJob = jobRow();
    await insertJob(db, otherJob);
    const otherRows = jobCommandRows(otherJob.id, nodes(2), { held: 1, expires_at: null });
    await insertCommands(db, [...rows, ...otherRows]);

    const out = await cancelHeld(db, job.id, T0 + 9);
    expect(out.map((r) => r.id).sort()).toEqual(rows.slice(2).map((r) => r.id).sort());
    for (const r of out) {
      expect(r).toMatchObject({ held: 0, state: 'cancelled', finished_at: T0 + 9 });
      expect(JSON.parse(r.error!)).toMatchObject({ code: 'cancelled' });
    }
    expect(await getCommandRow(db, rows[0]!.id)).toEqual(rows[0]);
    expect(await jobCounts(db, job.id)).toEqual({ pending: 2, cancelled: 3 });
    expect(await jobCounts(db, otherJob.id)).toEqual({ queued: 2 });
    expect(await cancelHeld(db, job.id, T0 + 10)).toEqual([]);
  });

  it('a held command that ends without being released no longer counts as queued', async () => {
    const { db } = ctx.store;
    const job = jobRow({ batch_size: 1, total: 3 });
    await insertJob(db, job);
    const [released, heldA, heldB] = jobCommandRows(job.id, ['node_a', 'node_b', 'node_c']);
    await insertCommands(db, [released!, { ...heldA!, held: 1, expires_at: null }, { ...heldB!, held: 1, expires_at: null }]);
    expect(await jobCounts(db, job.id)).toEqual({ pending: 1, queued: 2 });
    // Cancelled on its own (the command API), and with its node (node deletion).
    await transitionCommand(db, heldA!.id, 'cancelled', { finished_at: T0 + 1 });
    await cancelUnfinishedForNode(db, 'node_c', T0 + 2, 'node_deleted', 'the node was deleted');
    // Counted as queued, they would keep the job running forever: releaseHeld never frees them.
    expect(await jobCounts(db, job.id)).toEqual({ pending: 1, cancelled: 2 });
    expect(await releaseHeld(db, job.id, 5, T0 + 3)).toEqual([]);
  });

  it('request ids find jobs and are unique; lists filter by state', async () => {
    const { db } = ctx.store;
    const job = jobRow({ request_id: 'req-job', request_hash: 'h1', created_at: T0 + 1 });
    await insertJob(db, job);
    await expect(insertJob(db, jobRow({ request_id: 'req-job' }))).rejects.toThrow();
    expect(await findJobByRequestId(db, 'req-job')).toEqual(job);
    expect(await findJobByRequestId(db, 'req-none')).toBeUndefined();
    const done = jobRow({ state: 'succeeded', created_at: T0 + 2 });
    await insertJob(db, done);
    expect((await listJobRows(db, {})).map((j) => j.id)).toEqual([done.id, job.id]);
    expect((await listJobRows(db, { state: 'running' })).map((j) => j.id)).toEqual([job.id]);
    expect(await runningJobIds(db)).toEqual([job.id]);
  });

  it('inserts more rows than one statement may bind in few multi-row statements, all or none', async () => {
    const job = jobRow({ total: 3_000 });
    const rows = jobCommandRows(job.id, nodes(3_000));
    const columns = Object.keys(rows[0]!).length;
    // Past SQLite's 32,766 and PostgreSQL's 65,535 bound parameters as one statement.
    expect(rows.length * columns).toBeGreaterThan(65_535);
    const statements = await ctx.store.tx(async (db) => {
      await insertJob(db, job);
      return insertCommands(db, rows);
    });
    expect(statements).toBe(Math.ceil(rows.length / Math.floor(MAX_BIND_PARAMS / columns)));
    expect(statements).toBeLessThan(5);
    expect(await jobCounts(ctx.store.db, job.id)).toEqual({ pending: 3_000 });

    // A bad row in the last statement takes the earlier ones back with it.
    const other = jobRow({ total: 3_000 });
    const bad = jobCommandRows(other.id, nodes(3_000));
    bad[2_999] = { ...bad[2_999]!, id: rows[0]!.id }; // a taken primary key
    await expect(
      ctx.store.tx(async (db) => {
        await insertJob(db, other);
        await insertCommands(db, bad);
      }),
    ).rejects.toThrow();
    expect(await getJobRow(ctx.store.db, other.id)).toBeUndefined();
    expect(await getCommandRow(ctx.store.db, bad[0]!.id)).toBeUndefined();
  });

  it('pages a job\'s commands in id order after a cursor, never repeating or skipping one', async () => {
    const job = jobRow({ total: 25 });
    const rows = jobCommandRows(job.id, nodes(25));
    const otherJob = jobRow({ total: 3 });
    await ctx.store.tx(async (db) => {
      await insertJob(db, job);
      await insertJob(db, otherJob);
      await insertCommands(db, [...rows, ...jobCommandRows(otherJob.id, nodes(3))]);
    });
    const ids = rows.map((r) => r.id).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await listJobCommandPage(ctx.store.db, job.id, 10, after);
      seen.push(...page.map((r) => r.id));
      if (page.length < 10) break;
      after = page[page.length - 1]!.id;
      // A change between reads moves nothing between pages: the order is by id.
      await transitionCommand(ctx.store.db, ids[0]!, 'succeeded');
    }
    expect(seen).toEqual(ids);
    expect(await listJobCommandPage(ctx.store.db, job.id, 10, ids[24])).toEqual([]);
  });
});
