import { describe, expect, it } from 'vitest';
import { getCommandRow, insertCommands, listCommandRows, transitionCommand } from '../../src/store/queries/commands.js';
import { getJobRow, insertJob, listJobRows } from '../../src/store/queries/jobs.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { commandRow, jobCommandRows, jobRow, T0 } from '../helpers/rows.js';

describe.each(storeTargets())('transactions on $name', (target) => {
  const ctx = useFreshStore(target);

  it('a transaction that throws leaves nothing behind', async () => {
    const store = ctx.store;
    const job = jobRow({ total: 700 });
    const rows = jobCommandRows(
      job.id,
      Array.from({ length: 700 }, (_, i) => `node_${i}`),
    );
    const boom = new Error('boom after the inserts');
    await expect(
      store.tx(async (db) => {
        await insertJob(db, job);
        await insertCommands(db, rows); // two chunks
        expect(await listCommandRows(db, { jobId: job.id, limit: 1_000 })).toHaveLength(700); // visible inside
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await getJobRow(store.db, job.id)).toBeUndefined();
    expect(await listJobRows(store.db, {})).toEqual([]);
    expect(await listCommandRows(store.db, {})).toEqual([]);
  });

  it('a failing statement inside a transaction rolls back the earlier ones', async () => {
    const store = ctx.store;
    const existing = commandRow({ node_id: 'node_a', state: 'dispatched' });
    await insertCommands(store.db, [existing]);
    const job = jobRow();
    await expect(
      store.tx(async (db) => {
        await insertJob(db, job);
        await transitionCommand(db, existing.id, 'running', { started_at: T0 });
        await insertCommands(db, [commandRow({ node_id: 'node_a', id: existing.id })]); // duplicate primary key
      }),
    ).rejects.toThrow();
    expect(await getJobRow(store.db, job.id)).toBeUndefined();
    expect(await getCommandRow(store.db, existing.id)).toEqual(existing);
  });

  it('a transaction that returns commits and passes its value through', async () => {
    const store = ctx.store;
    const job = jobRow();
    const value = await store.tx(async (db) => {
      await insertJob(db, job);
      return 42;
    });
    expect(value).toBe(42);
    expect(await getJobRow(store.db, job.id)).toEqual(job);
  });
});
