import type { ServiceModuleReport, ServiceNodeReport } from '@steward/protocol';
import type { Context } from '../core/context.js';
import { getNodeRow } from '../store/queries/nodes.js';
import { deleteServiceNode, deleteServiceNodesExcept, listServiceNodeRows, upsertServiceNode } from '../store/queries/services.js';

const CACHE_MS = 60_000;

/**
 * Keeps `service_nodes` equal to what each node last reported, publishes `service.state` when a
 * node's service changes state, version or revision, and raises an alert while one is `fatal`.
 * Reports repeat on every heartbeat; only changes are written.
 */
export class StatusRecorder {
  /**
   * nodeId → service → the report JSON last stored. Reloaded from the store after CACHE_MS, so a
   * node that moved to another replica and back cannot leave this one comparing against old rows.
   */
  private readonly seen = new Map<string, { at: number; reports: Map<string, string> }>();

  constructor(private readonly ctx: Context) {}

  private async known(nodeId: string): Promise<Map<string, string>> {
    const now = this.ctx.now();
    let m = this.seen.get(nodeId);
    if (!m || now - m.at > CACHE_MS) {
      m = { at: now, reports: new Map((await listServiceNodeRows(this.ctx.store.db, { nodeId })).map((r) => [r.service, r.report])) };
      this.seen.set(nodeId, m);
    }
    return m.reports;
  }

  /** A full report (hello or heartbeat): every service the node has; rows of others go. */
  async report(nodeId: string, report: ServiceModuleReport, at: number): Promise<void> {
    for (const s of report.services) await this.one(nodeId, s, at);
    const known = await this.known(nodeId);
    const names = report.services.map((s) => s.name);
    if ([...known.keys()].some((n) => !names.includes(n))) {
      const gone = await deleteServiceNodesExcept(this.ctx.store.db, nodeId, names);
      for (const name of gone) await this.removed(nodeId, name, at);
    }
  }

  /** One service's state (a `service.state` event, or a line of a report). */
  async one(nodeId: string, s: ServiceNodeReport, at: number): Promise<void> {
    const known = await this.known(nodeId);
    const json = JSON.stringify(s);
    const before = known.get(s.name);
    if (before === json) return;
    await upsertServiceNode(this.ctx.store.db, {
      service: s.name,
      node_id: nodeId,
      revision: s.revision,
      version: s.version,
      state: s.state,
      report: json,
      updated_at: at,
    });
    known.set(s.name, json);
    const prev = before ? (JSON.parse(before) as ServiceNodeReport) : null;
    if (!prev || prev.state !== s.state || prev.version !== s.version || prev.revision !== s.revision) {
      this.ctx.bus.publish({ kind: 'service.state', at, service: s.name, nodeId, state: s.state, version: s.version, revision: s.revision, reason: s.reason });
    }
    const key = alertKey(s.name, nodeId);
    if (s.state === 'fatal' && prev?.state !== 'fatal') {
      const node = await this.nodeName(nodeId);
      await this.ctx.alerts.fire({
        key,
        source: 'service',
        nodeId,
        severity: 'critical',
        summary: `service ${s.name} is fatal on ${node}: ${s.reason ?? 'too many crashes'}`,
        details: { service: s.name, version: s.version, exits: s.exits.slice(-5) },
      });
    } else if (s.state !== 'fatal' && prev?.state === 'fatal') {
      await this.ctx.alerts.resolve(key, `service ${s.name} on ${await this.nodeName(nodeId)} is ${s.state} again`);
    }
  }

  /** The node uninstalled the service. */
  async removed(nodeId: string, name: string, at: number): Promise<void> {
    const known = await this.known(nodeId);
    const before = known.get(name);
    known.delete(name);
    await deleteServiceNode(this.ctx.store.db, name, nodeId);
    this.ctx.bus.publish({ kind: 'service.state', at, service: name, nodeId, state: null, version: null, revision: null, reason: 'removed' });
    if (before && (JSON.parse(before) as ServiceNodeReport).state === 'fatal') await this.ctx.alerts.resolve(alertKey(name, nodeId), `service ${name} removed from ${await this.nodeName(nodeId)}`);
  }

  /** People read alert summaries: the node's name, its id only when the node is gone. */
  private async nodeName(nodeId: string): Promise<string> {
    return (await getNodeRow(this.ctx.store.db, nodeId))?.name ?? `node ${nodeId}`;
  }

  /** The reported revision of each service on a node (after `report` stored it). */
  async revisions(nodeId: string): Promise<Map<string, number | null>> {
    const known = await this.known(nodeId);
    return new Map([...known].map(([name, json]) => [name, (JSON.parse(json) as ServiceNodeReport).revision]));
  }

  /** Drops cache entries of nodes not heard from for a while (deleted, gone to another replica). */
  prune(now: number): void {
    for (const [nodeId, m] of this.seen) if (now - m.at > CACHE_MS) this.seen.delete(nodeId);
  }
}

function alertKey(service: string, nodeId: string): string {
  return `service.fatal:${service}:${nodeId}`;
}
