import type { Context } from '../core/context.js';
import { countFiringAlertsBySeverity } from '../store/queries/alerts.js';

const SEVERITIES = ['info', 'warning', 'critical'] as const;

/** Open (firing) alerts by severity, on `/metrics`: something to alert on from Prometheus too. */
export function registerAlertMetrics(ctx: Context): void {
  ctx.metrics.gauge({
    name: 'steward_alerts_firing',
    help: 'Alerts firing (open), by severity',
    labelNames: ['severity'],
    async collect() {
      this.reset();
      for (const s of SEVERITIES) this.set({ severity: s }, 0);
      for (const r of await countFiringAlertsBySeverity(ctx.store.db)) this.set({ severity: r.severity }, r.n);
    },
  });
}
