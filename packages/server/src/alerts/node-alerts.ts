import type { Context } from '../core/context.js';
import { listOpenAlerts, nodeStatuses, nodesOfflineSince } from '../store/queries/alerts.js';
import type { AlertService } from './service.js';

const SOURCE = 'node';

export function nodeOfflineKey(nodeId: string): string {
  return `node:${nodeId}:offline`;
}

/**
 * Node offline alerts, reconciled from the nodes table on every sweep rather than from status
 * events: a node must stay offline `delayMs` before its alert fires (a restart or a short
 * network blip pages nobody), and a control-plane restart in between loses nothing.
 */
export class NodeOfflineAlerts {
  constructor(
    private readonly ctx: Context,
    private readonly alerts: AlertService,
    private readonly delayMs: number,
  ) {}

  async sweep(now: number): Promise<void> {
    const db = this.ctx.store.db;
    const open = await listOpenAlerts(db, SOURCE);
    for (const n of await nodesOfflineSince(db, now - this.delayMs)) {
      await this.alerts.ensure({
        key: nodeOfflineKey(n.id),
        source: SOURCE,
        nodeId: n.id,
        severity: 'critical',
        summary: `node ${n.name} is offline`,
        details: { offlineSince: n.status_changed_at },
      });
    }
    const ids = open.map((a) => a.node_id).filter((id): id is string => id !== null);
    const statuses = await nodeStatuses(db, ids);
    for (const a of open) {
      const s = a.node_id ? statuses.get(a.node_id) : undefined;
      if (!s) await this.alerts.resolveKey(a.key, 'node was deleted');
      else if (s.status === 'online') await this.alerts.resolveKey(a.key, `node ${s.name} is back online`);
    }
  }
}
