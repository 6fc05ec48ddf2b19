import type { NodeStatus } from '@steward/protocol';
import type { NodesTable } from '../store/schema.js';
import type { Publisher } from './publisher.js';

export function publishNodeStatus(ctx: Publisher, row: NodesTable, reason: string): void {
  ctx.bus.publish({
    kind: 'node.status',
    at: ctx.now(),
    nodeId: row.id,
    name: row.name,
    status: row.status as NodeStatus,
    reason,
  });
}

/** An agent sent inventory figures past their caps (INVENTORY_CAPS); the kept values are clamped. */
export function publishInventoryClamped(ctx: Publisher, row: Pick<NodesTable, 'id' | 'name'>, fields: string[]): void {
  ctx.bus.publish({ kind: 'node.changed', at: ctx.now(), nodeId: row.id, name: row.name, change: 'inventory_clamped', fields: fields.slice(0, 64) });
}

export function publishNodeChanged(ctx: Publisher, row: Pick<NodesTable, 'id' | 'name'>, change: 'enrolled' | 'updated' | 'deleted' | 'revoked'): void {
  ctx.bus.publish({ kind: 'node.changed', at: ctx.now(), nodeId: row.id, name: row.name, change });
}
