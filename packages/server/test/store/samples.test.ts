import { describe, expect, it } from 'vitest';
import { insertNode } from '../../src/store/queries/nodes.js';
import { deleteNodeSamples, insertNodeSamples, listNodeSamples, pruneNodeSamples } from '../../src/store/queries/samples.js';
import type { NodeSamplesTable } from '../../src/store/schema.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { nodeRow, T0 } from '../helpers/rows.js';

function sample(nodeId: string, at: number, over: Partial<NodeSamplesTable> = {}): NodeSamplesTable {
  return {
    node_id: nodeId,
    at,
    cpu_percent: 12.5,
    memory_used: 3 * 1024 ** 3,
    memory_total: 8 * 1024 ** 3,
    disk_used: 50e9,
    disk_total: 100e9,
    load1: 0.5,
    load5: 0.25,
    load15: 0.125,
    ...over,
  };
}

describe.each(storeTargets())('node samples on $name', (target) => {
  const ctx = useFreshStore(target);

  it('keeps every figure as written, including byte counts above 2^32', async () => {
    const { db } = ctx.store;
    const node = nodeRow();
    await insertNode(db, node);
    const s = sample(node.id, T0, { disk_used: 5_000_000_000_000, cpu_percent: 99.5 });
    await insertNodeSamples(db, [s]);
    expect(await listNodeSamples(db, node.id, 0, 10)).toEqual([s]);
  });

  it('lists one node’s samples after `since`, oldest first, bounded by the limit', async () => {
    const { db } = ctx.store;
    const a = nodeRow();
    const b = nodeRow();
    await insertNode(db, a);
    await insertNode(db, b);
    // Written out of order and interleaved with another node's.
    await insertNodeSamples(db, [sample(a.id, T0 + 3000), sample(b.id, T0 + 1500), sample(a.id, T0 + 1000), sample(a.id, T0 + 2000)]);
    expect((await listNodeSamples(db, a.id, 0, 10)).map((s) => s.at)).toEqual([T0 + 1000, T0 + 2000, T0 + 3000]);
    expect((await listNodeSamples(db, a.id, T0 + 1000, 10)).map((s) => s.at)).toEqual([T0 + 2000, T0 + 3000]);
    expect((await listNodeSamples(db, a.id, 0, 2)).map((s) => s.at)).toEqual([T0 + 1000, T0 + 2000]);
    expect((await listNodeSamples(db, b.id, 0, 10)).map((s) => s.at)).toEqual([T0 + 1500]);
  });

  it('writes a batch larger than one statement holds (chunked)', async () => {
    const { db } = ctx.store;
    const node = nodeRow();
    await insertNode(db, node);
    const rows = Array.from({ length: 1234 }, (_, i) => sample(node.id, T0 + i));
    await insertNodeSamples(db, rows);
    const back = await listNodeSamples(db, node.id, 0, 5000);
    expect(back).toHaveLength(1234);
    expect(back[1233]!.at).toBe(T0 + 1233);
  });

  it('prunes by age and deletes by node', async () => {
    const { db } = ctx.store;
    const a = nodeRow();
    const b = nodeRow();
    await insertNode(db, a);
    await insertNode(db, b);
    await insertNodeSamples(db, [sample(a.id, T0), sample(a.id, T0 + 10), sample(b.id, T0 + 5), sample(b.id, T0 + 20)]);
    expect(await pruneNodeSamples(db, T0 + 10)).toBe(2);
    expect((await listNodeSamples(db, a.id, 0, 10)).map((s) => s.at)).toEqual([T0 + 10]);
    await deleteNodeSamples(db, b.id);
    expect(await listNodeSamples(db, b.id, 0, 10)).toEqual([]);
    expect(await listNodeSamples(db, a.id, 0, 10)).toHaveLength(1);
  });
});
