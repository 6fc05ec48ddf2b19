import { useState, type FormEvent } from 'react';
import { useSession } from '../app-context.js';
import type { Backup, BackupSchedule, Command, CommandProgress } from '../api/types.js';
import { StatusBadge } from '../components/badges.js';
import { DataTable, type Column } from '../components/data-table.js';
import { PageHeader, Section } from '../components/page.js';
import { Empty, Resolved } from '../components/states.js';
import { ago, bytes, time, until } from '../format.js';
import { useCommand } from '../hooks/use-command.js';
import { useEvents } from '../hooks/use-events.js';
import { useNodeNames } from '../hooks/use-node-names.js';
import { useNow } from '../hooks/use-now.js';
import { useResource } from '../hooks/use-resource.js';
import { Link } from '../router.js';

export function BackupsView() {
  const { api } = useSession();
  const now = useNow(10_000);
  const names = useNodeNames();
  const [restoring, setRestoring] = useState<Backup | null>(null);
  // A backup is recorded when its backup.run command succeeds; there is no event of its own.
  const backups = useResource('backups', () => api.backups({ limit: 1000 }), {
    refreshOn: (e) => e.kind === 'command.state' && e.type === 'backup.run' && e.state === 'succeeded',
    throttleMs: 1000,
  });
  const schedules = useResource('backup-schedules', () => api.backupSchedules(), {
    refreshOn: (e) => e.kind === 'command.state' && e.type === 'backup.run' && e.state === 'dispatched',
    throttleMs: 5000,
    pollMs: 60_000,
  });
  const node = (id: string) => <Link to={`/nodes/${encodeURIComponent(id)}`}>{names.get(id) ?? id}</Link>;
  const columns: Column<Backup>[] = [
    { key: 'created', header: 'Taken', width: '105px', render: (b) => <span title={time(b.createdAt)}>{ago(b.createdAt, now)}</span>, sortValue: (b) => b.createdAt },
    { key: 'node', header: 'Node', width: 'minmax(100px, 1fr)', render: (b) => node(b.nodeId), sortValue: (b) => names.get(b.nodeId) ?? b.nodeId },
    { key: 'source', header: 'Source', width: 'minmax(160px, 2fr)', render: (b) => <code className="ellipsis" title={b.exclude.length ? `excluding ${b.exclude.join(', ')}` : undefined}>{b.source}</code>, sortValue: (b) => b.source },
    { key: 'dest', header: 'Kept on', width: '110px', render: (b) => b.destination, sortValue: (b) => b.destination },
    { key: 'files', header: 'Files', width: '70px', render: (b) => b.fileCount, sortValue: (b) => b.fileCount },
    { key: 'size', header: 'Data / archive', width: '140px', render: (b) => `${bytes(b.totalBytes)} / ${bytes(b.archiveSize)}`, sortValue: (b) => b.archiveSize },
    { key: 'schedule', header: 'By', width: '90px', render: (b) => (b.scheduleId ? <span title={b.scheduleId}>schedule</span> : b.commandId ? <Link to={`/commands/${b.commandId}`}>hand</Link> : '—') },
    {
      key: 'restore',
      header: '',
      width: '95px',
      render: (b) => (
        <button type="button" onClick={() => setRestoring(b)}>
          Restore…
        </button>
      ),
    },
  ];
  const scheduleColumns: Column<BackupSchedule>[] = [
    { key: 'name', header: 'Name', width: 'minmax(110px, 1fr)', render: (s) => s.name ?? <code>{s.id}</code> },
    { key: 'cron', header: 'When', width: 'minmax(120px, 1fr)', render: (s) => <code>{s.cron}</code> },
    { key: 'target', header: 'Nodes', width: 'minmax(110px, 1fr)', render: (s) => <code className="ellipsis">{'node' in s.target ? s.target.node : s.target.selector}</code> },
    { key: 'source', header: 'Source', width: 'minmax(140px, 2fr)', render: (s) => <code className="ellipsis">{s.source}</code> },
    { key: 'keep', header: 'Keeps', width: '120px', render: (s) => [s.keepLast ? `last ${s.keepLast}` : null, s.keepDays ? `${s.keepDays} days` : null].filter(Boolean).join(', ') || 'all' },
    { key: 'last', header: 'Last run', width: '100px', render: (s) => (s.lastRunAt ? ago(s.lastRunAt, now) : 'never') },
    { key: 'next', header: 'Next run', width: '100px', render: (s) => <span title={time(s.nextRunAt)}>{until(s.nextRunAt, now)}</span>, sortValue: (s) => s.nextRunAt },
  ];
  return (
    <>
      <PageHeader title="Backups" subtitle="Archives of node directories, kept on the node or in the control plane's artifact store." />
      {restoring && <RestoreForm backup={restoring} nodeName={names.get(restoring.nodeId) ?? restoring.nodeId} onClose={() => setRestoring(null)} />}
      <Section title="Backups">
        <Resolved
          {...backups}
          isEmpty={(d) => d.length === 0}
          empty={
            <Empty title="No backups yet">
              Take one with <code>steward backups run NODE /srv/data</code> or add a schedule with <code>steward backups schedule add</code>.
            </Empty>
          }
        >
          {(rows) => <DataTable label="backups" rows={rows} columns={columns} rowKey={(b) => b.id} maxHeight="420px" />}
        </Resolved>
      </Section>
      <Section title="Schedules">
        <Resolved {...schedules} isEmpty={(d) => d.length === 0} empty={<Empty title="No schedules">Backups run only when asked.</Empty>}>
          {(rows) => <DataTable label="backup schedules" rows={rows} columns={scheduleColumns} rowKey={(s) => s.id} maxHeight="300px" />}
        </Resolved>
      </Section>
    </>
  );
}

/** Restore into a new or empty directory; the command's progress shows in place. */
function RestoreForm({ backup: b, nodeName, onClose }: { backup: Backup; nodeName: string; onClose(): void }) {
  const { api } = useSession();
  const [node, setNode] = useState('');
  const [target, setTarget] = useState(`${b.source.replace(/\/+$/, '')}-restored`);
  const [error, setError] = useState<string | null>(null);
  const [command, setCommand] = useState<Command | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    api.restoreBackup(b.id, { target, ...(node.trim() ? { node: node.trim() } : {}) }).then(setCommand, (err: Error) => setError(err.message));
  };
  return (
    <Section
      title={`Restore ${b.source} from ${nodeName}, ${time(b.createdAt)}`}
      actions={
        <button type="button" onClick={onClose}>
          Close
        </button>
      }
    >
      {command ? (
        <RestoreProgress id={command.id} />
      ) : (
        <form className="form-grid" onSubmit={submit} aria-label="restore backup">
          <label>
            Into directory (new or empty)
            <input required pattern="/.*" value={target} onChange={(e) => setTarget(e.target.value)} aria-label="restore target" />
          </label>
          <label>
            On node {b.destination === 'control-plane' ? '(any; default its own)' : '(its own node only)'}
            <input value={node} placeholder={nodeName} disabled={b.destination !== 'control-plane'} onChange={(e) => setNode(e.target.value)} aria-label="restore node" />
          </label>
          <button type="submit">Restore</button>
          {error && <div className="form-error">{error}</div>}
        </form>
      )}
    </Section>
  );
}

/** `extracting 40% (12Mi/24Mi)`. */
function progressText(p: CommandProgress): string {
  const amount = (n: number) => (p.unit === 'bytes' ? bytes(n) : String(n));
  return `${p.phase} ${p.total ? `${Math.floor((p.done * 100) / p.total)}% ` : ''}(${amount(p.done)}${p.total !== null ? `/${amount(p.total)}` : ''})`;
}

function RestoreProgress({ id }: { id: string }) {
  const c = useCommand(id);
  // The latest report, live from the event stream (the command only refreshes on state changes).
  const [live, setLive] = useState<CommandProgress | null>(null);
  useEvents((e) => {
    if (e.kind === 'command.progress' && e.commandId === id) setLive(e.progress);
  });
  const progress = live ?? c.data?.progress ?? null;
  return (
    <div data-testid="restore-progress">
      restore command <Link to={`/commands/${id}`}>{id}</Link> {c.data ? <StatusBadge status={c.data.state} /> : '…'}
      {progress && c.data && !['succeeded', 'failed', 'cancelled', 'timed_out', 'expired'].includes(c.data.state) ? <span> {progressText(progress)}</span> : null}
      {c.data?.error ? <span className="form-error"> {c.data.error.message}</span> : null}
    </div>
  );
}
