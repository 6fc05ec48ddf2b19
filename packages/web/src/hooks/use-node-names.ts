import { useMemo } from 'react';
import { useNodeSummaries } from './use-nodes.js';

/** Node id → name, for tables that hold ids. */
export function useNodeNames(): Map<string, string> {
  const nodes = useNodeSummaries();
  return useMemo(() => new Map((nodes.data ?? []).map((n) => [n.id, n.name])), [nodes.data]);
}
