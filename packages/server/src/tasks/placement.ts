import type { TaskStrategy } from '@steward/protocol';
import { RequirementSet, type NodeFacts } from './requirements.js';

export interface QueuedTask {
  id: string;
  /** Canonical JSON of the requirements: tasks that share it share one candidate list. */
  requirementsKey: string;
  requirements: RequirementSet;
  strategy: TaskStrategy | null;
}

export interface Placement {
  taskId: string;
  nodeId: string;
}

export interface PlacementResult {
  placements: Placement[];
  /** Why each task that stays queued was not placed. */
  reasons: Map<string, string>;
}

interface Group {
  candidates: NodeFacts[];
  /** Set once the group found no free slot: later tasks of the group skip the scan. */
  full: boolean;
  reason: string | null;
}

/** Lower is better. Spread: least loaded by running per slot, then CPU load. */
function spreadScore(n: NodeFacts, running: number): number {
  return running / n.slots + Math.min(n.load, 4) * 0.25;
}

/** Higher is better. Binpack: the fullest node that still has room, so others stay empty. */
function binpackScore(n: NodeFacts, running: number): number {
  return running / n.slots;
}

/**
 * Places `tasks` (already in queue order) on `nodes` (online, schedulable). A node takes at
 * most `slots − running` tasks. Pure: the caller stores the placements in one transaction.
 * Never places a task on a node that fails one of its requirements or has no free slot.
 */
export function placeTasks(
  tasks: readonly QueuedTask[],
  nodes: readonly NodeFacts[],
  running: ReadonlyMap<string, number>,
  defaultStrategy: TaskStrategy,
): PlacementResult {
  const load = new Map<string, number>();
  let free = 0;
  for (const n of nodes) {
    const r = running.get(n.id) ?? 0;
    load.set(n.id, r);
    free += Math.max(0, n.slots - r);
  }
  const groups = new Map<string, Group>();
  const placements: Placement[] = [];
  const reasons = new Map<string, string>();
  for (const t of tasks) {
    let g = groups.get(t.requirementsKey);
    if (!g) {
      const candidates = nodes.filter((n) => n.slots > 0 && t.requirements.matches(n));
      const reason = candidates.length === 0 ? t.requirements.explain(nodes.filter((n) => n.slots > 0)) : null;
      g = { candidates, full: candidates.length === 0, reason };
      groups.set(t.requirementsKey, g);
    }
    if (g.full || free === 0) {
      reasons.set(t.id, g.reason ?? busyReason(g.candidates.length));
      continue;
    }
    const binpack = (t.strategy ?? defaultStrategy) === 'binpack';
    let best: NodeFacts | null = null;
    let bestScore = 0;
    for (const n of g.candidates) {
      const r = load.get(n.id)!;
      if (r >= n.slots) continue;
      const s = binpack ? -binpackScore(n, r) : spreadScore(n, r);
      if (best === null || s < bestScore || (s === bestScore && n.id < best.id)) {
        best = n;
        bestScore = s;
      }
    }
    if (!best) {
      g.full = true;
      reasons.set(t.id, busyReason(g.candidates.length));
      continue;
    }
    load.set(best.id, load.get(best.id)! + 1);
    free--;
    placements.push({ taskId: t.id, nodeId: best.id });
  }
  return { placements, reasons };
}

function busyReason(matching: number): string {
  return `${matching} node${matching === 1 ? '' : 's'} match${matching === 1 ? 'es' : ''} but all slots are busy`;
}
