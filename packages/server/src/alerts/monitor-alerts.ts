import { CheckStateEventData, MonitorReport, type CheckStatus } from '@steward/protocol';
import type { AgentLink } from '../agents/link.js';
import type { Context } from '../core/context.js';
import { listOpenAlerts } from '../store/queries/alerts.js';
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

  constructor(
    private readonly ctx: Context,
    private readonly alerts: AlertService,
  ) {}

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
    const firing = new Map(report.checks.filter(alerting).map((c) => [c.id, c]));
    const prev = this.known.get(nodeId);
    // Held alerts are looked at on every report until their checks settle (a few probes).
    if (prev && prev.held === 0 && now - prev.at < REVERIFY_MS && prev.firing.size === firing.size && [...firing.keys()].every((id) => prev.firing.has(id))) return;
    const open = new Map((await listOpenAlerts(this.ctx.store.db, SOURCE, nodeId)).map((a) => [a.key, a]));
    for (const c of firing.values()) {
      if (!open.has(monitorAlertKey(nodeId, c.id))) await this.alerts.ensure(await this.alertFor(nodeId, c));
    }
    const byId = new Map(report.checks.map((c) => [c.id, c]));
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
      await this.alerts.ensure(await this.alertFor(nodeId, c));
      known?.firing.add(c.id);
    } else {
      await this.alerts.resolveKey(key, data.reason === 'check removed' ? `check ${c.id} was removed` : `${c.summary}: ${c.message}`);
      known?.firing.delete(c.id);
    }
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
