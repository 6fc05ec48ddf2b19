import { useState } from 'react';
import { useSession } from '../app-context.js';
import type { Task } from '../api/types.js';
import { ProgressBar, StatusBadge } from '../components/badges.js';
import { DataTable, type Column } from '../components/data-table.js';
import { PageHeader } from '../components/page.js';
import { Empty, Resolved } from '../components/states.js';
import { ago, duration, shellQuote } from '../format.js';
import { useNodeNames } from '../hooks/use-node-names.js';
import { useNow } from '../hooks/use-now.js';
import { useResource } from '../hooks/use-resource.js';
import { Link, navigate } from '../router.js';

export const TASK_STATES = ['queued', 'placed', 'running', 'succeeded', 'failed', 'cancelled'];
const PRIORITIES = ['critical', 'high', 'normal', 'low'];
const PRIORITY_ORDER: Record<string, number> = { critical: 0, high: 1, normal: 2, low: 3 };

/** What a task runs, in a line. */
export function taskSummary(t: Task): string {
  const p = (t.payload ?? {}) as { command?: string; args?: string[]; interpreter?: string; script?: string };
  if (t.kind === 'exec' && p.command) return [p.command, ...(p.args ?? [])].map(shellQuote).join(' ');
  if (t.kind === 'script') return `${p.interpreter ?? 'script'}: ${(p.script ?? '').split('\n')[0]}`;
  return t.kind;
}

export function TasksView() {
  const { api } = useSession();
  const [state, setState] = useState('');
  const [priority, setPriority] = useState('');
  const [node, setNode] = useState('');
  const now = useNow(5000);
  const names = useNodeNames();
  const tasks = useResource(
    `tasks:${state}:${priority}:${node}`,
    () => api.tasks({ state: state || undefined, priority: priority || undefined, node: node || undefined, limit: 1000 }),
    { refreshOn: (e) => e.kind === 'task.state', throttleMs: 500 },
  );
  const columns: Column<Task>[] = [
    { key: 'state', header: 'State', width: '105px', render: (t) => <StatusBadge status={t.state} />, sortValue: (t) => t.state },
    { key: 'priority', header: 'Priority', width: '85px', render: (t) => t.priority, sortValue: (t) => PRIORITY_ORDER[t.priority] ?? 9 },
    { key: 'what', header: 'What', width: 'minmax(160px, 2fr)', render: (t) => <code className="ellipsis">{taskSummary(t)}</code> },
    {
      key: 'node',
      header: 'Node',
      width: 'minmax(100px, 1fr)',
      render: (t) =>
        t.nodeId ? (
          <Link to={`/nodes/${encodeURIComponent(t.nodeId)}`} onClick={(e) => e.stopPropagation()}>
            {names.get(t.nodeId) ?? t.nodeId}
          </Link>
        ) : (
          <span className="muted ellipsis" title={t.reason ?? undefined}>
            {t.reason ?? '—'}
          </span>
        ),
      sortValue: (t) => (t.nodeId ? names.get(t.nodeId) ?? t.nodeId : ''),
    },
    { key: 'progress', header: 'Progress', width: '120px', render: (t) => <ProgressBar percent={t.progress} /> },
    { key: 'attempts', header: 'Tries', width: '60px', render: (t) => t.attempts, sortValue: (t) => t.attempts },
    { key: 'exit', header: 'Exit', width: '55px', render: (t) => t.exitCode ?? '—' },
    { key: 'created', header: 'Submitted', width: '100px', render: (t) => ago(t.createdAt, now), sortValue: (t) => t.createdAt },
    {
      key: 'took',
      header: 'Ran',
      width: '80px',
      render: (t) => (t.startedAt ? duration((t.finishedAt ?? now) - t.startedAt) : '—'),
    },
  ];
  return (
    <>
      <PageHeader title="Tasks" subtitle="Compute work the scheduler places on nodes that fit. Live." />
      <div className="filters">
        <select aria-label="task state" value={state} onChange={(e) => setState(e.target.value)}>
          <option value="">any state</option>
          {TASK_STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <select aria-label="priority" value={priority} onChange={(e) => setPriority(e.target.value)}>
          <option value="">any priority</option>
          {PRIORITIES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <input aria-label="node" placeholder="node id or name" value={node} onChange={(e) => setNode(e.target.value.trim())} />
      </div>
      <Resolved
        {...tasks}
        isEmpty={(d) => d.length === 0}
        empty={
          <Empty title={state || priority || node ? 'No tasks match' : 'No tasks yet'}>
            Submit one with <code>steward tasks submit -- python3 train.py</code> or <code>POST /api/v1/tasks</code>.
          </Empty>
        }
      >
        {(ts) => <DataTable label="tasks" rows={ts} columns={columns} rowKey={(t) => t.id} onRowClick={(t) => navigate(`/tasks/${t.id}`)} />}
      </Resolved>
    </>
  );
}
