import { useState } from 'react';
import { useSession } from '../../app-context.js';
import type { TaskAttempt, TaskDetail } from '../../api/types.js';
import { ProgressBar, StatusBadge } from '../../components/badges.js';
import { DataTable, type Column } from '../../components/data-table.js';
import { Facts, PageHeader, Section } from '../../components/page.js';
import { Empty, Resolved } from '../../components/states.js';
import { bytes, duration, time } from '../../format.js';
import { useNodeNames } from '../../hooks/use-node-names.js';
import { useResource } from '../../hooks/use-resource.js';
import { Link } from '../../router.js';
import { taskSummary } from '../tasks.js';
import { TaskOutput } from './output.js';

const UNFINISHED = new Set(['queued', 'placed', 'running']);

export function TaskView({ params }: { params: Record<string, string> }) {
  const id = params.id!;
  const { api } = useSession();
  const task = useResource(`task:${id}`, () => api.task(id), {
    refreshOn: (e) => e.kind === 'task.state' && e.taskId === id,
    throttleMs: 300,
  });
  return <Resolved {...task}>{(t) => <TaskDetailView task={t} reload={task.reload} />}</Resolved>;
}

function TaskDetailView({ task: t, reload }: { task: TaskDetail; reload(): void }) {
  const { api } = useSession();
  const names = useNodeNames();
  const [cancelError, setCancelError] = useState<string | null>(null);
  const [cancelling, setCancelling] = useState(false);
  const cancel = () => {
    setCancelling(true);
    setCancelError(null);
    api.cancelTask(t.id).then(
      () => {
        setCancelling(false);
        reload();
      },
      (err: Error) => {
        setCancelling(false);
        setCancelError(err.message);
      },
    );
  };
  const last = t.attemptList[t.attemptList.length - 1];
  const nodeLink = (id: string | null) => (id ? <Link to={`/nodes/${encodeURIComponent(id)}`}>{names.get(id) ?? id}</Link> : '—');
  const attemptColumns: Column<TaskAttempt>[] = [
    { key: 'n', header: '#', width: '40px', render: (a) => a.number },
    { key: 'state', header: 'State', width: '105px', render: (a) => <StatusBadge status={a.state} /> },
    { key: 'node', header: 'Node', width: 'minmax(100px, 1fr)', render: (a) => nodeLink(a.nodeId) },
    { key: 'placed', header: 'Placed', width: 'minmax(140px, 1fr)', render: (a) => time(a.placedAt) },
    { key: 'ran', header: 'Ran', width: '80px', render: (a) => (a.startedAt ? duration((a.finishedAt ?? Date.now()) - a.startedAt) : '—') },
    { key: 'exit', header: 'Exit', width: '70px', render: (a) => (a.signal ? a.signal : a.exitCode ?? '—') },
    { key: 'cpu', header: 'CPU', width: '80px', render: (a) => duration(a.cpuMs) },
    { key: 'mem', header: 'Peak memory', width: '100px', render: (a) => bytes(a.peakMemoryBytes) },
    { key: 'out', header: 'Output', width: '90px', render: (a) => `${bytes(a.outputBytes)}${a.outputTruncated ? ' (cut)' : ''}` },
    {
      key: 'cmd',
      header: 'Command / error',
      width: 'minmax(160px, 2fr)',
      render: (a) => (
        <span className="ellipsis" title={a.error?.message}>
          <Link to={`/commands/${a.commandId}`}>command</Link>
          {a.error ? ` · ${a.error.message}` : ''}
        </span>
      ),
    },
  ];
  return (
    <>
      <PageHeader
        title={
          <>
            Task <StatusBadge status={t.state} />
          </>
        }
        subtitle={
          <>
            <code>{t.id}</code> · <code>{taskSummary(t)}</code>
          </>
        }
        actions={
          UNFINISHED.has(t.state) ? (
            <>
              {cancelError && <span className="form-error">{cancelError}</span>}
              <button type="button" onClick={cancel} disabled={cancelling}>
                {cancelling ? 'Cancelling…' : 'Cancel'}
              </button>
            </>
          ) : undefined
        }
      />
      {t.state === 'queued' && t.reason && (
        <div className="banner banner-warn" data-testid="queued-reason">
          Waiting: {t.reason}
          {t.retryAt ? ` · next try at ${time(t.retryAt)}` : ''}
        </div>
      )}
      <div className="grid-2">
        <Section title="Task">
          <Facts
            items={[
              ['Node', nodeLink(t.nodeId)],
              ['Priority', t.priority],
              ['Strategy', t.strategy ?? 'scheduler default'],
              ['Progress', <ProgressBar key="p" percent={t.progress} />],
              ['Exit code', t.exitCode === null ? '—' : <strong key="e">{t.exitCode}</strong>],
              ['Error', t.error ? `${t.error.code}: ${t.error.message}` : '—'],
              ['Tries', `${t.attempts} of ${t.maxRetries + 1}`],
              ['CPU (last try)', duration(last?.cpuMs)],
              ['Peak memory (last try)', bytes(last?.peakMemoryBytes)],
            ]}
          />
        </Section>
        <Section title="Timings">
          <Facts
            items={[
              ['Submitted', time(t.createdAt)],
              ['Started', time(t.startedAt)],
              ['Finished', time(t.finishedAt)],
              ['Waited', t.startedAt ? duration(t.startedAt - t.createdAt) : '—'],
              ['Ran', t.startedAt && t.finishedAt ? duration(t.finishedAt - t.startedAt) : '—'],
              ['Timeout', duration(t.timeoutMs)],
              ['Retry delay', `${duration(t.retryDelayMs)}, doubling${t.retryOnNodeLoss ? '; retried on node loss' : ''}`],
              ['Requirements', Object.keys(t.requirements).length ? <code key="r">{JSON.stringify(t.requirements)}</code> : 'none'],
              ['Request id', t.requestId ?? '—'],
            ]}
          />
        </Section>
      </div>
      <Section title="Output">
        <TaskOutput taskId={t.id} onState={reload} />
      </Section>
      <Section title="Attempts">
        {t.attemptList.length === 0 ? (
          <Empty title="Not placed yet">{t.reason ?? 'The scheduler has not found a node for it yet.'}</Empty>
        ) : (
          <DataTable label="attempts" rows={t.attemptList} columns={attemptColumns} rowKey={(a) => a.id} maxHeight="300px" />
        )}
      </Section>
    </>
  );
}
