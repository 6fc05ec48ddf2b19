import { describe, expect, it } from 'vitest';
import { insertCommandOnce } from '../../src/store/queries/commands.js';
import { advanceOutput, getOutputState, insertOutputChunks, outputAfter, pruneFinishedOutput } from '../../src/store/queries/command-output.js';
import type { CommandsTable } from '../../src/store/schema.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { commandRow, T0 } from '../helpers/rows.js';

describe.each(storeTargets())('command output retention on $name', (target) => {
  const ctx = useFreshStore(target);
  const node = 'node_a';

  /** A command with `chunks` stored chunks of 5 bytes each, finished at `finishedAt` (null: still running). */
  async function withOutput(finishedAt: number | null, chunks = 3): Promise<CommandsTable> {
    const { db } = ctx.store;
    const row = commandRow({ node_id: node, state: finishedAt === null ? 'running' : 'succeeded', finished_at: finishedAt });
    await insertCommandOnce(db, row);
    const rows = Array.from({ length: chunks }, (_, i) => ({ command_id: row.id, seq: i, stream: 'stdout', data: `line${i}`, at: T0 + i }));
    expect(await advanceOutput(db, row.id, 0, chunks, 5 * chunks, false)).toBe(true);
    await insertOutputChunks(db, rows);
    return row;
  }

  it('drops the output of commands finished before the cut, and only theirs', async () => {
    const { db } = ctx.store;
    const old = await withOutput(T0 + 1_000);
    const recent = await withOutput(T0 + 10_000);
    const running = await withOutput(null);
    const noOutput = commandRow({ node_id: node, state: 'succeeded', finished_at: T0 });
    await insertCommandOnce(db, noOutput);

    expect(await ctx.store.batch((tx) => pruneFinishedOutput(tx, T0 + 5_000))).toBe(1);

    expect(await outputAfter(db, old.id, -1)).toEqual([]);
    expect((await getOutputState(db, old.id))?.output_bytes).toEqual(0);
    // The seq stays where it was, so a late resend of a chunk is acknowledged and not stored again.
    expect((await getOutputState(db, old.id))?.output_seq).toBe(3);
    expect((await outputAfter(db, recent.id, -1)).map((c) => c.data)).toEqual(['line0', 'line1', 'line2']);
    expect(await outputAfter(db, running.id, -1)).toHaveLength(3);
    expect(Number((await getOutputState(db, recent.id))?.output_bytes)).toBe(15);

    // Nothing is left to drop before the cut: a second look finds no command.
    expect(await ctx.store.batch((tx) => pruneFinishedOutput(tx, T0 + 5_000))).toBe(0);
  });

  it('goes at most `limit` commands per call; later calls take the rest', async () => {
    const { db } = ctx.store;
    const rows = [];
    for (let i = 0; i < 5; i++) rows.push(await withOutput(T0 + i, 2));
    expect(await ctx.store.batch((tx) => pruneFinishedOutput(tx, T0 + 100, 2))).toBe(2);
    expect(await ctx.store.batch((tx) => pruneFinishedOutput(tx, T0 + 100, 2))).toBe(2);
    expect(await ctx.store.batch((tx) => pruneFinishedOutput(tx, T0 + 100, 2))).toBe(1);
    expect(await ctx.store.batch((tx) => pruneFinishedOutput(tx, T0 + 100, 2))).toBe(0);
    for (const r of rows) expect(await outputAfter(db, r.id, -1)).toEqual([]);
  });
});
