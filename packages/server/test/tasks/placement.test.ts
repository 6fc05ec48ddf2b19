import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TaskRequirements } from '@steward/protocol';
import { placeTasks, type QueuedTask } from '../../src/tasks/placement.js';
import { RequirementSet, type NodeFacts } from '../../src/tasks/requirements.js';

const GB = 2 ** 30;

function node(id: string, over: Partial<NodeFacts> = {}): NodeFacts {
  return { id, slots: 2, cpuCores: 4, memoryBytes: 8 * GB, diskBytes: 100 * GB, platform: 'linux', arch: 'x64', capabilities: new Set(), labels: {}, load: 0, ...over };
}

function task(id: string, req: TaskRequirements = {}, strategy: QueuedTask['strategy'] = null): QueuedTask {
  return { id, requirementsKey: JSON.stringify(req), requirements: new RequirementSet(req), strategy };
}

const arbNode = (i: number) =>
  fc.record({
    slots: fc.integer({ min: 0, max: 4 }),
    cpuCores: fc.integer({ min: 1, max: 16 }),
    memoryGB: fc.integer({ min: 1, max: 64 }),
    arch: fc.constantFrom('x64', 'arm64'),
    caps: fc.subarray(['python3', 'gpu', 'gcc']),
    zone: fc.constantFrom('a', 'b'),
    load: fc.double({ min: 0, max: 2, noNaN: true }),
  }).map((n) => node(`node_${i}`, { slots: n.slots, cpuCores: n.cpuCores, memoryBytes: n.memoryGB * GB, arch: n.arch, capabilities: new Set(n.caps), labels: { zone: n.zone }, load: n.load }));

const arbReq: fc.Arbitrary<TaskRequirements> = fc.record(
  {
    cpuCores: fc.integer({ min: 1, max: 16 }),
    memoryMB: fc.integer({ min: 512, max: 65536 }),
    arch: fc.constantFrom('x64', 'arm64'),
    selector: fc.constantFrom('zone=a', 'zone!=a', 'zone'),
    capabilities: fc.subarray(['python3', 'gpu', 'gcc'], { minLength: 1 }),
  },
  { requiredKeys: [] },
);

describe('placeTasks', () => {
  it('never places a task on a node that misses a requirement, and never past a node’s free slots (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => arbNode(i)))),
        fc.array(fc.tuple(arbReq, fc.constantFrom(null, 'spread', 'binpack')), { maxLength: 60 }),
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 12, maxLength: 12 }),
        fc.constantFrom('spread', 'binpack'),
        (nodes, reqs, busy, strategy) => {
          const running = new Map(nodes.map((n, i) => [n.id, busy[i]!]));
          const tasks = reqs.map(([r, s], i) => task(`task_${i}`, r, s as QueuedTask['strategy']));
          const { placements, reasons } = placeTasks(tasks, nodes, running, strategy as 'spread' | 'binpack');
          const byId = new Map(nodes.map((n) => [n.id, n]));
          const perNode = new Map<string, number>();
          for (const p of placements) {
            const n = byId.get(p.nodeId)!;
            const t = tasks.find((t) => t.id === p.taskId)!;
            expect(t.requirements.matches(n)).toBe(true);
            perNode.set(n.id, (perNode.get(n.id) ?? 0) + 1);
          }
          for (const [id, k] of perNode) expect(running.get(id)! + k).toBeLessThanOrEqual(byId.get(id)!.slots);
          // Every task is either placed once or has a reason.
          const placedIds = placements.map((p) => p.taskId);
          expect(new Set(placedIds).size).toBe(placedIds.length);
          for (const t of tasks) expect(placedIds.includes(t.id) !== reasons.has(t.id)).toBe(true);
          // Nothing is left unplaced while a matching node still had a free slot.
          for (const t of tasks) {
            if (placedIds.includes(t.id)) continue;
            const free = nodes.filter((n) => t.requirements.matches(n) && running.get(n.id)! + (perNode.get(n.id) ?? 0) < n.slots);
            expect(free).toEqual([]);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('places in queue order: when slots run short, the first tasks get them', () => {
    const tasks = ['t_critical', 't_high', 't_normal', 't_low'].map((id) => task(id));
    const { placements, reasons } = placeTasks(tasks, [node('n1', { slots: 2 })], new Map(), 'spread');
    expect(placements.map((p) => p.taskId)).toEqual(['t_critical', 't_high']);
    expect(reasons.get('t_low')).toBe('1 node matches but all slots are busy');
  });

  it('spread picks the least loaded node (running per slot, then CPU load); binpack the fullest with room', () => {
    const nodes = [node('a', { slots: 4 }), node('b', { slots: 4 }), node('c', { slots: 4, load: 1.5 })];
    const running = new Map([['a', 2], ['b', 1], ['c', 1]]);
    expect(placeTasks([task('t')], nodes, running, 'spread').placements[0]!.nodeId).toBe('b');
    expect(placeTasks([task('t')], nodes, running, 'binpack').placements[0]!.nodeId).toBe('a');
    // Per task strategy wins over the default.
    expect(placeTasks([task('t', {}, 'binpack')], nodes, running, 'spread').placements[0]!.nodeId).toBe('a');
    // Spread over several tasks fills evenly.
    const many = placeTasks(Array.from({ length: 6 }, (_, i) => task(`t${i}`)), [node('x', { slots: 3 }), node('y', { slots: 3 })], new Map(), 'spread');
    expect(many.placements.filter((p) => p.nodeId === 'x')).toHaveLength(3);
  });

  it('explains in words why no node can take a task', () => {
    const nodes = [node('a', { memoryBytes: 8 * GB }), node('b', { memoryBytes: 16 * GB, capabilities: new Set(['python3']) })];
    const r = (req: TaskRequirements) => placeTasks([task('t', req)], nodes, new Map(), 'spread').reasons.get('t');
    expect(r({ memoryMB: 65536 })).toBe('no online node has 64 GB memory');
    expect(r({ memoryMB: 65536, capabilities: ['gpu'] })).toBe('no online node has 64 GB memory, capability gpu');
    expect(r({ memoryMB: 12 * 1024, capabilities: ['python3'], arch: 'arm64' })).toBe('no online node has architecture arm64');
    expect(r({ memoryMB: 16 * 1024, cpuCores: 2, selector: 'zone=z' })).toBe('no online node has labels matching zone=z');
    expect(placeTasks([task('t')], [], new Map(), 'spread').reasons.get('t')).toBe('no online node runs the task module');
    const busy = placeTasks([task('t', { capabilities: ['python3'] })], nodes, new Map([['b', 2]]), 'spread');
    expect(busy.reasons.get('t')).toBe('1 node matches but all slots are busy');
    // Each requirement alone is met by some node, but no node meets all of them.
    expect(r({ memoryMB: 16 * 1024, capabilities: ['python3'], selector: 'zone' })).toBe('no online node has labels matching zone');
    const split = [node('a', { cpuCores: 8 }), node('b', { capabilities: new Set(['gpu']) })];
    expect(placeTasks([task('t', { cpuCores: 8, capabilities: ['gpu'] })], split, new Map(), 'spread').reasons.get('t')).toBe(
      'no online node has all of: 8 CPU cores, capability gpu',
    );
  });
});
