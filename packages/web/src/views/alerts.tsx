import { useState } from 'react';
import { useSession } from '../app-context.js';
import type { Alert, StewardEvent } from '../api/types.js';
import { StatusBadge } from '../components/badges.js';
import { DataTable, type Column } from '../components/data-table.js';
import { PageHeader } from '../components/page.js';
import { Empty, Resolved } from '../components/states.js';
import { ago, time } from '../format.js';
import { useNodeNames } from '../hooks/use-node-names.js';
import { useNow } from '../hooks/use-now.js';
import { useResource } from '../hooks/use-resource.js';
import { Link } from '../router.js';

type Filter = 'firing' | 'unacked' | 'resolved' | 'all';

const FILTERS: Record<Filter, { label: string; query: { state?: string; acked?: boolean } }> = {
  firing: { label: 'firing', query: { state: 'firing' } },
  unacked: { label: 'firing, not acknowledged', query: { state: 'firing', acked: false } },
  resolved: { label: 'resolved', query: { state: 'resolved' } },
  all: { label: 'all', query: {} },
};

const isAlertEvent = (e: StewardEvent) => e.kind === 'alert.fired' || e.kind === 'alert.resolved' || e.kind === 'alert.acked';

export function AlertsView() {
  const { api } = useSession();
  const [filter, setFilter] = useState<Filter>('firing');
  const [acking, setAcking] = useState<Record<string, string>>({});
  const now = useNow(5000);
  const names = useNodeNames();
  // Each event carries the whole alert, but whether it still belongs under the filter is the
  // server's call, so the list is refetched (throttled) rather than patched. A repeat of an open
  // alert (count + 1) has no event, so counts also catch up on a slow poll.
  const alerts = useResource(`alerts:${filter}`, () => api.alerts({ ...FILTERS[filter].query, limit: 1000 }), {
    refreshOn: isAlertEvent,
    throttleMs: 300,
    pollMs: 15_000,
  });
  const ack = (a: Alert) => {
    setAcking((m) => ({ ...m, [a.id]: 'acknowledging…' }));
    api.ackAlert(a.id).then(
      (updated) => {
        setAcking(({ [a.id]: _, ...rest }) => rest);
        alerts.mutate((list) => list.map((x) => (x.id === updated.id ? updated : x)));
        alerts.reload();
      },
      (err: Error) => setAcking((m) => ({ ...m, [a.id]: err.message })),
    );
  };
  const columns: Column<Alert>[] = [
    {
      key: 'state',
      header: 'State',
      width: '150px',
      render: (a) => (
        <>
          <StatusBadge status={a.state} />
          {a.ackedAt ? <StatusBadge status="acked" title={`acknowledged by ${a.ackedBy ?? '?'} at ${time(a.ackedAt)}`} /> : null}
        </>
      ),
      sortValue: (a) => `${a.state}${a.ackedAt ? 1 : 0}`,
    },
    { key: 'severity', header: 'Severity', width: '95px', render: (a) => <StatusBadge status={a.severity} />, sortValue: (a) => ({ critical: 0, warning: 1, info: 2 })[a.severity] },
    {
      key: 'node',
      header: 'Node',
      width: 'minmax(100px, 1fr)',
      render: (a) => (a.nodeId ? <Link to={`/nodes/${encodeURIComponent(a.nodeId)}`}>{names.get(a.nodeId) ?? a.nodeId}</Link> : <span className="muted">—</span>),
      sortValue: (a) => (a.nodeId ? names.get(a.nodeId) ?? a.nodeId : ''),
    },
    {
      key: 'summary',
      header: 'Summary',
      width: 'minmax(220px, 3fr)',
      render: (a) => (
        <span className="ellipsis" title={`${a.key}${a.resolveSummary ? ` — resolved: ${a.resolveSummary}` : ''}`}>
          <span className="muted">{a.source}</span> {a.summary}
        </span>
      ),
    },
    { key: 'count', header: 'Count', width: '65px', render: (a) => a.count, sortValue: (a) => a.count },
    { key: 'first', header: 'First fired', width: '100px', render: (a) => <span title={time(a.firstFiredAt)}>{ago(a.firstFiredAt, now)}</span>, sortValue: (a) => a.firstFiredAt },
    { key: 'last', header: 'Last fired', width: '100px', render: (a) => <span title={time(a.lastFiredAt)}>{ago(a.lastFiredAt, now)}</span>, sortValue: (a) => a.lastFiredAt },
    {
      key: 'ack',
      header: '',
      width: '110px',
      render: (a) =>
        acking[a.id] ? (
          <span className="muted ellipsis" title={acking[a.id]}>{acking[a.id]}</span>
        ) : a.state === 'firing' && !a.ackedAt ? (
          <button type="button" onClick={() => ack(a)}>
            Ack
          </button>
        ) : a.resolvedAt ? (
          <span className="muted" title={time(a.resolvedAt)}>resolved {ago(a.resolvedAt, now)}</span>
        ) : null,
    },
  ];
  return (
    <>
      <PageHeader title="Alerts" subtitle="Raised by monitors, offline nodes and (if configured) failed commands. Live." />
      <div className="filters">
        <select aria-label="alert filter" value={filter} onChange={(e) => setFilter(e.target.value as Filter)}>
          {(Object.keys(FILTERS) as Filter[]).map((f) => (
            <option key={f} value={f}>
              {FILTERS[f].label}
            </option>
          ))}
        </select>
      </div>
      <Resolved
        {...alerts}
        isEmpty={(d) => d.length === 0}
        empty={
          <Empty title={filter === 'resolved' ? 'No resolved alerts' : filter === 'all' ? 'No alerts yet' : 'Nothing is firing'}>
            Alerts come from monitor checks (<code>docs/monitor.md</code>), nodes offline for a minute, and failed commands of the types in{' '}
            <code>STEWARD_ALERT_FAILED_COMMANDS</code>.
          </Empty>
        }
      >
        {(rows) => <DataTable label="alerts" rows={rows} columns={columns} rowKey={(a) => a.id} />}
      </Resolved>
    </>
  );
}
