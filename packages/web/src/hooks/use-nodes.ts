import { useSession } from '../app-context.js';
import type { NodeSummary } from '../api/types.js';
import { useEvents } from './use-events.js';
import { useResource, type Resource } from './use-resource.js';

/** How often the table's figures (CPU, memory, disk) are refreshed: they have no events. */
export const FIGURES_REFRESH_MS = 15_000;

/**
 * Every node as a table row. Status changes arrive as events and are applied in place (no
 * request); enrolments, renames and deletions reload the list; figures refresh on an interval.
 */
export function useNodeSummaries(): Resource<NodeSummary[]> {
  const { api } = useSession();
  const res = useResource('nodes', api.nodeSummaries, {
    refreshOn: (e) => e.kind === 'node.changed',
    throttleMs: 1000,
    pollMs: FIGURES_REFRESH_MS,
  });
  useEvents((e) => {
    if (e.kind !== 'node.status') return;
    res.mutate((rows) =>
      rows.map((n) => (n.id === e.nodeId ? { ...n, status: e.status, lastSeenAt: e.status === 'online' ? e.at : n.lastSeenAt } : n)),
    );
  });
  return res;
}
