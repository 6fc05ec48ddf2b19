import type { Command } from '../api/types.js';
import { ago, duration } from '../format.js';
import { useNow } from '../hooks/use-now.js';
import { Link, navigate } from '../router.js';
import { StatusBadge } from './badges.js';
import { DataTable, type Column } from './data-table.js';

/** Commands as rows; `nodeNames` turns node ids into names where known. */
export function CommandsTable({ commands, nodeNames, maxHeight, showNode = true }: {
  commands: readonly Command[];
  nodeNames?: Map<string, string>;
  maxHeight?: string;
  showNode?: boolean;
}) {
  const now = useNow(5000);
  const columns: Column<Command>[] = [
    { key: 'state', header: 'State', width: '110px', render: (c) => <StatusBadge status={c.state} />, sortValue: (c) => c.state },
    { key: 'type', header: 'Type', width: 'minmax(110px, 1fr)', render: (c) => <code>{c.type}</code>, sortValue: (c) => c.type },
    ...(showNode
      ? [
          {
            key: 'node',
            header: 'Node',
            width: 'minmax(120px, 1fr)',
            render: (c: Command) => (
              <Link to={`/nodes/${encodeURIComponent(c.nodeId)}`} onClick={(e) => e.stopPropagation()}>
                {nodeNames?.get(c.nodeId) ?? c.nodeId}
              </Link>
            ),
            sortValue: (c: Command) => nodeNames?.get(c.nodeId) ?? c.nodeId,
          },
        ]
      : []),
    { key: 'summary', header: 'What', width: 'minmax(160px, 2fr)', render: (c) => <span className="ellipsis">{summary(c)}</span> },
    { key: 'created', header: 'Submitted', width: '110px', render: (c) => ago(c.createdAt, now), sortValue: (c) => c.createdAt },
    {
      key: 'took',
      header: 'Took',
      width: '90px',
      render: (c) => (c.finishedAt ? duration(c.finishedAt - c.createdAt) : '—'),
      sortValue: (c) => (c.finishedAt ? c.finishedAt - c.createdAt : -1),
    },
  ];
  return (
    <DataTable
      label="commands"
      rows={commands}
      columns={columns}
      rowKey={(c) => c.id}
      onRowClick={(c) => navigate(`/commands/${c.id}`)}
      maxHeight={maxHeight}
    />
  );
}

/** One line saying what a command does or did. */
export function summary(c: Command): string {
  const p = (c.payload ?? {}) as Record<string, unknown>;
  if (c.error) return c.error.message;
  if (typeof p.command === 'string') return [p.command, ...((p.args as string[] | undefined) ?? [])].join(' ');
  if (typeof p.path === 'string') return p.path;
  const r = c.result as { exitCode?: number } | null;
  if (r && typeof r.exitCode === 'number') return `exit ${r.exitCode}`;
  return '';
}
