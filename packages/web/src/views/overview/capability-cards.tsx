import { useSession } from '../../app-context.js';
import { ago } from '../../format.js';
import { useNow } from '../../hooks/use-now.js';
import { useResource } from '../../hooks/use-resource.js';
import { Card } from './cards.js';

const ALERT_CAP = 1000;

/** Shows '…' while loading and '!' (with the message as detail) when the request failed. */
function figure<T>(r: { data: T | undefined; error: Error | undefined }, f: (d: T) => string | number): string | number {
  return r.data !== undefined ? f(r.data) : r.error ? '!' : '…';
}

export function AlertCard() {
  const { api } = useSession();
  const alerts = useResource('overview:alerts', () => api.alerts({ state: 'firing', limit: ALERT_CAP }), {
    refreshOn: (e) => e.kind === 'alert.fired' || e.kind === 'alert.resolved' || e.kind === 'alert.acked',
    throttleMs: 500,
  });
  const n = alerts.data?.length ?? 0;
  const unacked = alerts.data?.filter((a) => !a.ackedAt).length ?? 0;
  const critical = alerts.data?.filter((a) => a.severity === 'critical').length ?? 0;
  return (
    <Card
      title="Alerts firing"
      value={figure(alerts, (d) => (d.length >= ALERT_CAP ? `${ALERT_CAP}+` : d.length))}
      detail={alerts.data ? (n ? `${unacked} not acknowledged${critical ? ` · ${critical} critical` : ''}` : 'all quiet') : alerts.error?.message}
      to="/alerts"
      tone={n ? 'bad' : alerts.data ? 'ok' : undefined}
      testId="alerts-firing"
    />
  );
}

export function TaskCard() {
  const { api } = useSession();
  const s = useResource('overview:scheduler', api.scheduler, { refreshOn: (e) => e.kind === 'task.state', throttleMs: 500 });
  return (
    <Card
      title="Tasks running"
      value={figure(s, (d) => d.active)}
      detail={s.data ? `${s.data.queued} queued${s.data.paused ? ' · scheduler paused' : ''}` : s.error?.message}
      to="/tasks"
      tone={s.data?.paused ? 'wait' : undefined}
      testId="tasks-running"
    />
  );
}

export function ServiceCard() {
  const { api } = useSession();
  const services = useResource('overview:services', api.services, { refreshOn: (e) => e.kind === 'service.state', throttleMs: 1000 });
  const d = services.data;
  const instances = d?.reduce((a, s) => a + Math.max(s.targeted, s.nodes.length), 0) ?? 0;
  const notRunning = d?.reduce((a, s) => a + s.nodes.filter((n) => n.state !== 'running').length + Math.max(0, s.targeted - s.nodes.length), 0) ?? 0;
  return (
    <Card
      title="Services not running"
      value={figure(services, () => notRunning)}
      detail={d ? `of ${instances} on nodes · ${d.length} service${d.length === 1 ? '' : 's'}` : services.error?.message}
      to="/services"
      tone={notRunning ? 'bad' : d ? 'ok' : undefined}
      testId="services-not-running"
    />
  );
}

export function BackupCard() {
  const { api } = useSession();
  const now = useNow(10_000);
  const last = useResource('overview:last-backup', () => api.backups({ limit: 1 }), {
    refreshOn: (e) => e.kind === 'command.state' && e.type === 'backup.run' && e.state !== 'pending' && e.state !== 'dispatched' && e.state !== 'running',
    throttleMs: 1000,
  });
  const b = last.data?.[0];
  return (
    <Card
      title="Last backup"
      value={figure(last, (d) => (d[0] ? ago(d[0].createdAt, now) : 'none'))}
      detail={b ? <code>{b.source}</code> : last.error?.message}
      to="/backups"
      testId="last-backup"
    />
  );
}
