import { describe, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import { getCommandRow, insertCommands, startCommands, finishCommands, type CommandEnd, type CommandStart } from '../../src/store/queries/commands.js';
import type { Database } from '../../src/store/schema.js';
import type { BulkWrite } from '../../src/store/write-batcher.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { commandRow, T0 } from '../helpers/rows.js';

describe.each(storeTargets())('group commit with bulk writes on $name', (target) => {
  const ctx = useFreshStore(target);
  const node = 'node_a';

  /** A bulk write that records each call's items, then runs the real store function. */
  function recording<I, R>(rank: number, run: (db: Kysely<Database>, items: I[]) => Promise<R[]>, log: string[], name: string): BulkWrite<I, R> & { calls: I[][] } {
    const calls: I[][] = [];
    return {
      rank,
      calls,
      run: async (db, items) => {
        calls.push(items);
        log.push(name);
        return run(db, items);
      },
    };
  }

  it('reports of one moment share one call (one statement), each caller gets its own answer once committed', async () => {
    const rows = Array.from({ length: 50 }, () => commandRow({ node_id: node, state: 'dispatched' }));
    await insertCommands(ctx.store.db, rows);
    const log: string[] = [];
    const starts = recording<CommandStart, unknown>(1, startCommands, log, 'starts');
    const answers = await Promise.all(rows.map((r) => ctx.store.bulk(starts, { id: r.id, nodeId: node, at: T0 + 1 })));
    expect(starts.calls).toHaveLength(1);
    expect(starts.calls[0]).toHaveLength(50);
    expect(answers.map((a) => (a as { id: string }).id)).toEqual(rows.map((r) => r.id));
    expect(await getCommandRow(ctx.store.db, rows[49]!.id)).toMatchObject({ state: 'running', started_at: T0 + 1 });
  });

  it('a start waiting in the same flush as its result is stored first, whatever order they came in', async () => {
    const row = commandRow({ node_id: node, state: 'dispatched' });
    await insertCommands(ctx.store.db, [row]);
    const log: string[] = [];
    const starts = recording<CommandStart, unknown>(1, startCommands, log, 'starts');
    const ends = recording<CommandEnd, unknown>(2, finishCommands, log, 'ends');
    const [end, start] = await Promise.all([
      ctx.store.bulk(ends, { id: row.id, nodeId: node, state: 'succeeded', result: '{}', error: null, at: T0 + 9 }),
      ctx.store.bulk(starts, { id: row.id, nodeId: node, at: T0 + 5 }),
    ]);
    expect(log).toEqual(['starts', 'ends']);
    expect(start).toMatchObject({ state: 'running' });
    expect(end).toMatchObject({ state: 'succeeded' });
    expect(await getCommandRow(ctx.store.db, row.id)).toMatchObject({ state: 'succeeded', started_at: T0 + 5, finished_at: T0 + 9 });
  });

  it('a failing item does not take the others with it: each is then stored on its own', async () => {
    const rows = Array.from({ length: 3 }, () => commandRow({ node_id: node, state: 'dispatched' }));
    await insertCommands(ctx.store.db, rows);
    const boom: BulkWrite<CommandStart, unknown> = {
      rank: 1,
      run: async (db, items) => {
        if (items.some((i) => i.id === 'cmd_poison')) throw new Error('poison');
        return startCommands(db, items);
      },
    };
    const results = await Promise.allSettled([
      ctx.store.bulk(boom, { id: rows[0]!.id, nodeId: node, at: T0 + 1 }),
      ctx.store.bulk(boom, { id: 'cmd_poison', nodeId: node, at: T0 + 1 }),
      ctx.store.bulk(boom, { id: rows[1]!.id, nodeId: node, at: T0 + 1 }),
      ctx.store.batch((db) => startCommands(db, [{ id: rows[2]!.id, nodeId: node, at: T0 + 1 }])),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    for (const r of rows) expect((await getCommandRow(ctx.store.db, r.id))?.state).toBe('running');
  });
});
