import { describe, expect, it } from 'vitest';
import { TickBatch } from '../../src/core/tick-batch.js';

describe('TickBatch', () => {
  it('hands the calls of one event-loop turn to one flush, answering each its own result in order', async () => {
    const flushes: number[][] = [];
    const batch = new TickBatch<number, string>(async (items) => {
      flushes.push(items);
      return items.map((i) => `r${i}`);
    });
    const first = await Promise.all([1, 2, 3].map((i) => batch.add(i)));
    expect(first).toEqual(['r1', 'r2', 'r3']);
    // Calls from separate macrotasks of the same poll turn land in the same flush too.
    const later = await Promise.all([4, 5].map((i) => new Promise<string>((ok) => setImmediate(() => ok(batch.add(i))))));
    expect(later).toEqual(['r4', 'r5']);
    expect(flushes).toEqual([[1, 2, 3], [4, 5]]);
  });

  it('splits a burst at its cap, and a failing flush fails only its own batch', async () => {
    const flushes: number[][] = [];
    const batch = new TickBatch<number, number>(async (items) => {
      flushes.push(items);
      if (items.includes(3)) throw new Error('store away');
      return items;
    }, { max: 2 });
    const settled = await Promise.allSettled([1, 2, 3, 4, 5].map((i) => batch.add(i)));
    expect(flushes).toEqual([[1, 2], [3, 4], [5]]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((settled[2] as PromiseRejectedResult).reason).toMatchObject({ message: 'store away' });
  });

  it('with a window, gathers calls spread over separate turns until the window ends, and sends a full batch at once', async () => {
    const flushes: number[][] = [];
    const batch = new TickBatch<number, number>(async (items) => {
      flushes.push(items);
      return items;
    }, { max: 4, windowMs: 1000 });
    const first = batch.add(1);
    await new Promise((r) => setTimeout(r, 5)); // a later turn, inside the window
    const second = batch.add(2);
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(flushes).toEqual([[1, 2]]);
    // A full batch does not wait for its window: the fifth call starts the next one.
    const full = Promise.all([3, 4, 5, 6].map((i) => batch.add(i)));
    const tail = batch.add(7);
    expect(await full).toEqual([3, 4, 5, 6]);
    expect(flushes).toEqual([[1, 2], [3, 4, 5, 6]]);
    expect(await tail).toBe(7);
    expect(flushes).toEqual([[1, 2], [3, 4, 5, 6], [7]]);
  });
});
