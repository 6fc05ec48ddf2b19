import { useEffect, useRef } from 'react';
import { useSession } from '../app-context.js';
import type { NodeStatus, NodeSummary } from '../api/types.js';
import { useEvents } from './use-events.js';
import { useResource, type Resource } from './use-resource.js';

/** How often the table's figures (CPU, memory, disk) are refreshed: they have no events. */
export const FIGURES_REFRESH_MS = 15_000;
/** Status events are applied in batches, so thousands of them (a fleet reconnecting) cost one render. */
const BATCH_MS = 100;

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
  const pending = useRef(new Map<string, { status: NodeStatus; at: number }>());
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const mutate = useRef(res.mutate);
  mutate.current = res.mutate;
  useEffect(() => () => clearTimeout(timer.current), []);

  useEvents((e) => {
    if (e.kind !== 'node.status') return;
    pending.current.set(e.nodeId, { status: e.status, at: e.at });
    timer.current ??= setTimeout(() => {
      timer.current = undefined;
      const changes = pending.current;
      pending.current = new Map();
      mutate.current((rows) =>
        rows.map((n) => {
          const c = changes.get(n.id);
          return c ? { ...n, status: c.status, lastSeenAt: c.status === 'online' ? c.at : n.lastSeenAt } : n;
        }),
      );
    }, BATCH_MS);
  });
  return res;
}
