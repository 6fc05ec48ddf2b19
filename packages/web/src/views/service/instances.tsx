import type { ServiceNodeStatus } from '../../api/types.js';
import { StatusBadge } from '../../components/badges.js';
import { DataTable, type Column } from '../../components/data-table.js';
import { duration } from '../../format.js';
import { Link } from '../../router.js';

/** One service on one node, as a table row; `service` is set when rows mix services. */
export interface Instance extends ServiceNodeStatus {
  service?: string;
  wantedVersion?: string;
}

/** Uptime as the server computed it when answering, carried forward to `now`. */
function uptime(i: ServiceNodeStatus, loadedAt: number, now: number): string {
  if (i.state !== 'running' || i.uptimeMs === null) return '—';
  return duration(i.uptimeMs + Math.max(0, now - loadedAt));
}

/** Per-node state of services: version, state, restarts, uptime and why. */
export function InstancesTable({ rows, showService, showNode = true, loadedAt, now, maxHeight }: {
  rows: readonly Instance[];
  showService: boolean;
  showNode?: boolean;
  loadedAt: number;
  now: number;
  maxHeight?: string;
}) {
  const columns: Column<Instance>[] = [
    ...(showService
      ? [{ key: 'service', header: 'Service', width: 'minmax(110px, 1fr)', render: (i: Instance) => <Link to={`/services/${i.service}`}>{i.service}</Link>, sortValue: (i: Instance) => i.service ?? '' }]
      : []),
    ...(showNode
      ? [{ key: 'node', header: 'Node', width: 'minmax(110px, 1fr)', render: (i: Instance) => <Link to={`/nodes/${encodeURIComponent(i.nodeId)}`}>{i.nodeName}</Link>, sortValue: (i: Instance) => i.nodeName }]
      : []),
    { key: 'state', header: 'State', width: '100px', render: (i) => <StatusBadge status={i.state} />, sortValue: (i) => i.state },
    {
      key: 'version',
      header: 'Version',
      width: '110px',
      render: (i) => (
        <span title={i.wantedVersion && i.version !== i.wantedVersion ? `wanted ${i.wantedVersion}` : undefined}>
          {i.version ?? '—'}
          {i.wantedVersion && i.version !== i.wantedVersion ? <span className="muted"> → {i.wantedVersion}</span> : null}
        </span>
      ),
      sortValue: (i) => i.version ?? '',
    },
    { key: 'restarts', header: 'Restarts', width: '75px', render: (i) => i.restarts, sortValue: (i) => i.restarts },
    { key: 'uptime', header: 'Uptime', width: '90px', render: (i) => uptime(i, loadedAt, now), sortValue: (i) => i.uptimeMs ?? -1 },
    { key: 'pid', header: 'PID', width: '70px', render: (i) => i.pid ?? '—' },
    {
      key: 'reason',
      header: 'Reason / last outcome',
      width: 'minmax(180px, 2fr)',
      render: (i) => {
        const text = [i.reason, i.lastOutcome && i.lastOutcome.kind !== 'installed' && i.lastOutcome.kind !== 'unchanged' ? `${i.lastOutcome.kind.replace('_', ' ')} ${i.lastOutcome.version}${i.lastOutcome.reason ? `: ${i.lastOutcome.reason}` : ''}` : null]
          .filter(Boolean)
          .join(' · ');
        return text ? <span className="ellipsis" title={text}>{text}</span> : <span className="muted">—</span>;
      },
    },
  ];
  return (
    <DataTable
      label="service instances"
      rows={rows}
      columns={columns}
      rowKey={(i) => `${i.service ?? ''}/${i.nodeId}`}
      maxHeight={maxHeight}
    />
  );
}
