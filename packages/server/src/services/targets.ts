import { matchesSelector, parseSelector, type JobTarget, type Labels } from '@steward/protocol';

/** Whether a service's target selects a node (by id or name, by labels, or all). */
export function targets(target: JobTarget, node: { id: string; name: string; labels: Labels }): boolean {
  if ('all' in target) return true;
  if ('nodes' in target) return target.nodes.includes(node.id) || target.nodes.includes(node.name);
  return matchesSelector(node.labels, parseSelector(target.selector, 'target.selector'));
}
