import { useEffect, useMemo, useRef, useState } from 'react';
import type { NodeSummary } from '../api/types.js';
import { LabelChips, ProtocolBadge, SkewBadge, StatusBadge, UsageBar } from '../components/badges.js';
import { DataTable, type Column } from '../components/data-table.js';
import { PageHeader } from '../components/page.js';
import { Empty, Resolved } from '../components/states.js';
import { ago, labelsText } from '../format.js';
import { useNodeSummaries } from '../hooks/use-nodes.js';
import { useNow } from '../hooks/use-now.js';
import { Link, navigate } from '../router.js';
import { matchesLabelFilter, parseLabelFilter } from '../label-filter.js';
import { WaitingToJoin } from './waiting-to-join.js';

export function NodesView() {
  const nodes = useNodeSummaries();
  const now = useNow(5000);
  const [status, setStatus] = useState('');
  const [label, setLabel] = useState('');
  const [text, setText] = useState('');

  const filter = useMemo(() => parseLabelFilter(label), [label]);
  const rows = useMemo(() => {
    const q = text.trim().toLowerCase();
    return (nodes.data ?? []).filter(
      (n) =>
        (!status || n.status === status) &&
        (!filter.ok || matchesLabelFilter(n.labels, filter.terms)) &&
        (!q || n.name.toLowerCase().includes(q) || n.hostname.toLowerCase().includes(q) || n.id.includes(q) || labelsText(n.labels).includes(q)),
    );
  }, [nodes.data, status, filter, text]);

  // For the budget benchmark (bench/web.ts): rows committed, then the next frame painted.
  const marked = useRef(false);
  useEffect(() => {
    if (!nodes.data || marked.current) return;
    marked.current = true;
    performance.mark('steward:nodes-rendered');
    requestAnimationFrame(() => setTimeout(() => performance.mark('steward:nodes-painted')));
  }, [nodes.data]);

  const columns: Column<NodeSummary>[] = [
    { key: 'status', header: 'Status', width: '96px', render: (n) => (
        <>
          <StatusBadge status={n.status} /> <SkewBadge skew={n.versionSkew} />
        </>
      ), sortValue: (n) => n.status },
    {
      key: 'name',
      header: 'Name',
      width: 'minmax(140px, 1.3fr)',
      render: (n) => (
        <Link to={`/nodes/${encodeURIComponent(n.id)}`} onClick={(e) => e.stopPropagation()}>
          {n.name}
        </Link>
      ),
      sortValue: (n) => n.name,
    },
    { key: 'protocol', header: 'Protocol', width: '110px', render: (n) => <ProtocolBadge protocol={n.protocol} />, sortValue: (n) => n.protocol },
    { key: 'labels', header: 'Labels', width: 'minmax(140px, 1.5fr)', render: (n) => <LabelChips labels={n.labels} /> },
    { key: 'cpu', header: 'CPU', width: '120px', render: (n) => <UsageBar percent={n.cpuPercent} label="CPU" />, sortValue: (n) => n.cpuPercent ?? -1 },
    { key: 'memory', header: 'Memory', width: '120px', render: (n) => <UsageBar percent={n.memoryPercent} label="Memory" />, sortValue: (n) => n.memoryPercent ?? -1 },
    { key: 'disk', header: 'Disk', width: '120px', render: (n) => <UsageBar percent={n.diskPercent} label="Disk" />, sortValue: (n) => n.diskPercent ?? -1 },
    { key: 'version', header: 'Agent', width: '90px', render: (n) => n.agentVersion || '—', sortValue: (n) => n.agentVersion },
    { key: 'seen', header: 'Last seen', width: '100px', render: (n) => ago(n.lastSeenAt, now), sortValue: (n) => n.lastSeenAt ?? 0 },
  ];

  const online = nodes.data?.filter((n) => n.status === 'online').length ?? 0;
  return (
    <>
      <PageHeader
        title="Nodes"
        subtitle={nodes.data ? `${nodes.data.length} nodes, ${online} online${rows.length !== nodes.data.length ? ` · ${rows.length} shown` : ''}` : undefined}
      />
      <WaitingToJoin />
      <div className="filters">
        <select aria-label="status" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">any status</option>
          <option value="online">online</option>
          <option value="offline">offline</option>
          <option value="reconnecting">reconnecting</option>
        </select>
        <input
          aria-label="label selector"
          placeholder="labels: env=prod,role!=db"
          value={label}
          onChange={(e) => setLabel(e.target.value)}
          className={filter.ok ? undefined : 'invalid'}
          title={filter.ok ? undefined : filter.error}
        />
        <input aria-label="search" placeholder="search name, host, label" value={text} onChange={(e) => setText(e.target.value)} />
      </div>
      <Resolved
        {...nodes}
        isEmpty={(d) => d.length === 0}
        empty={
          <Empty title="No nodes yet">
            Enroll a machine from the <Link to="/enroll">Enroll</Link> page.
          </Empty>
        }
      >
        {() =>
          rows.length === 0 ? (
            <Empty title="No node matches these filters" />
          ) : (
            <DataTable label="nodes" rows={rows} columns={columns} rowKey={(n) => n.id} onRowClick={(n) => navigate(`/nodes/${encodeURIComponent(n.id)}`)} />
          )
        }
      </Resolved>
    </>
  );
}
