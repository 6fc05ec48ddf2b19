import { CheckStateEventData, MonitorReport, type CheckStatus } from '@steward/protocol';
import type { AgentLink } from '../agents/link.js';
import type { Context } from '../core/context.js';
import { countOpenAlertsOfNode, getOpenAlert, listOpenAlerts } from '../store/queries/alerts.js';
import { getNodeRow } from '../store/queries/nodes.js';
import type { AlertService } from './service.js';

/** How long a node's reported firing set is trusted without looking at the store again. */
const REVERIFY_MS = 5 * 60_000;
const SOURCE = 'monitor';

export function monitorAlertKey(nodeId: string, checkId: string): string {
  return `monitor:${nodeId}:${checkId}`;
}

function alerting(c: CheckStatus): boolean {
  return c.state === 'firing' || c.state === 'recovering';
}

/** A check that has not settled yet: a restarted agent's (not run yet, or failing but not firing again yet). */
function undecided(c: CheckStatus): boolean {
  return c.state === 'unknown' || c.state === 'failing';
}

/**
 * Alerts from the agents' monitor module. `check.state` events open and close alerts at once;
 * the report in every heartbeat is the truth that repairs what a lost event left behind (an
 * alert never opened, one left open for a check that recovered or was removed). The store is
 * consulted only when a node's firing set changes, or every few minutes, not on every heartbeat.
 *
 * A restarted agent starts its checks afresh (unknown, then failing until enough failures in a
 * row). An open alert for such a check is held, not resolved: the check's next settled state
 * decides, so a check that failed throughout keeps its alert (same id, ack, no webhooks) and
 * one that recovered meanwhile resolves when it reports ok.
 */
export class MonitorAlerts {
  private readonly known = new Map<string, { firing: Set<string>; held: number; at: number }>();
  /** Nodes already warned about (once per process) for checks or alerts over the caps. */
  private readonly warned = new Set<string>();
  private readonly refused;

  constructor(
    private readonly ctx: Context,
    private readonly alerts: AlertService,
  ) {
    this.refused = ctx.metrics.counter({ name: 'steward_monitor_alerts_refused_total', help: 'Monitor alerts not opened because their node had its cap of open alerts' });
  }

  register(link: Pick<AgentLink, 'modules'>): void {
    link.modules.register('monitor', {
      reportSchema: MonitorReport,
      eventSchemas: { 'check.state': CheckStateEventData },
      report: (nodeId, report) => this.report(nodeId, report as MonitorReport),
      event: (nodeId, _event, data) => this.event(nodeId, data as CheckStateEventData),
    });
  }

  async report(nodeId: string, report: MonitorReport): Promise<void> {
    const now = this.ctx.now();
    const { checksPerNode, openAlertsPerNode } = this.ctx.settings.limits;
    if (report.checks.length > checksPerNode) this.warnOnce(nodeId, `node reports ${report.checks.length} checks; only the first ${checksPerNode} are looked at`);
    const checks = report.checks.slice(0, checksPerNode);
    const firing = new Map(checks.filter(alerting).map((c) => [c.id, c]));
    const prev = this.known.get(nodeId);
    // Held alerts are looked at on every report until their checks settle (a few probes).
    if (prev && prev.held === 0 && now - prev.at < REVERIFY_MS && prev.firing.size === firing.size && [...firing.keys()].every((id) => prev.firing.has(id))) return;
    const open = new Map((await listOpenAlerts(this.ctx.store.db, SOURCE, nodeId)).map((a) => [a.key, a]));
    let opened = open.size;
    for (const c of firing.values()) {
      if (open.has(monitorAlertKey(nodeId, c.id))) continue;
      if (opened >= openAlertsPerNode) {
        this.overCap(nodeId, c.id);
        break;
      }
      await this.alerts.ensure(await this.alertFor(nodeId, c));
      opened++;
    }
    const byId = new Map(checks.map((c) => [c.id, c]));
    let held = 0;
    for (const key of open.keys()) {
      const checkId = key.slice(monitorAlertKey(nodeId, '').length);
      if (firing.has(checkId)) continue;
      const c = byId.get(checkId);
      if (c && undecided(c)) {
        held++;
        continue;
      }
      await this.alerts.resolveKey(key, c ? `${c.summary}: ${c.message}` : `check ${checkId} no longer exists`);
    }
    this.known.set(nodeId, { firing: new Set(firing.keys()), held, at: now });
  }

  async event(nodeId: string, data: CheckStateEventData): Promise<void> {
    const c = data.check;
    const key = monitorAlertKey(nodeId, c.id);
    const known = this.known.get(nodeId);
    if (data.transition === 'fired') {
      if (!(await this.mayOpen(nodeId, key))) return this.overCap(nodeId, c.id);
      await this.alerts.ensure(await this.alertFor(nodeId, c));
      known?.firing.add(c.id);
    } else {
      await this.alerts.resolveKey(key, data.reason === 'check removed' ? `check ${c.id} was removed` : `${c.summary}: ${c.message}`);
      known?.firing.delete(c.id);
    }
  }

  /** An alert already open may be kept; a new one only while the node is under its cap. */
  private async mayOpen(nodeId: string, key: string): Promise<boolean> {
    const db = this.ctx.store.db;
    if ((await countOpenAlertsOfNode(db, SOURCE, nodeId)) < this.ctx.settings.limits.openAlertsPerNode) return true;
    return (await getOpenAlert(db, key)) !== undefined;
  }

  private overCap(nodeId: string, checkId: string): void {
    this.refused.inc();
    this.warnOnce(nodeId, `node has ${this.ctx.settings.limits.openAlertsPerNode} open monitor alerts (the cap); check ${checkId} and later ones open none`);
  }

  private warnOnce(nodeId: string, message: string): void {
    if (this.warned.has(nodeId)) return;
    this.warned.add(nodeId);
    this.ctx.log.warn({ nodeId }, message);
  }

  private async alertFor(nodeId: string, c: CheckStatus) {
    const node = await getNodeRow(this.ctx.store.db, nodeId);
    return {
      key: monitorAlertKey(nodeId, c.id),
      source: SOURCE,
      nodeId,
      severity: c.severity,
      summary: `${node?.name ?? nodeId}: ${c.summary} failing: ${c.message}`,
      details: { checkId: c.id, kind: c.kind, state: c.state, failures: c.failures, message: c.message },
    };
  }
}
