import { useSession } from '../app-context.js';
import type { AgentUpgradeDetail } from '../api/types.js';
import { StatusBadge } from '../components/badges.js';
import { DataTable, type Column } from '../components/data-table.js';
import { Facts, PageHeader, Section } from '../components/page.js';
import { Resolved } from '../components/states.js';
import { duration, time } from '../format.js';
import { useResource } from '../hooks/use-resource.js';
import { navigate } from '../router.js';
import { JobCounts } from './job.js';

type UpgradeNode = AgentUpgradeDetail['nodes'][number];
type UpgradeBatch = AgentUpgradeDetail['batches'][number];

/** One agent upgrade: its batches' progress, each node's outcome, and pause / resume / abort. */
export function UpgradeView({ params }: { params: Record<string, string> }) {
  const id = params.id!;
  const { api } = useSession();
  const upgrade = useResource(`agent-upgrade:${id}`, () => api.agentUpgrade(id), {
    refreshOn: (e) => e.kind === 'agent-upgrade' && e.upgradeId === id,
    throttleMs: 300,
  });
  const act = (verb: 'pause' | 'resume' | 'abort') => void api.post(`/api/v1/agent-upgrades/${encodeURIComponent(id)}/${verb}`).then(upgrade.reload, upgrade.reload);
  const batchColumns: Column<UpgradeBatch>[] = [
    { key: 'batch', header: 'Batch', width: '120px', render: (b) => (b.canary ? `${b.batch} (canary)` : String(b.batch)) },
    { key: 'nodes', header: 'Nodes', width: '80px', render: (b) => b.total },
    { key: 'progress', header: 'Progress', width: 'minmax(200px, 1fr)', render: (b) => <JobCounts counts={b.counts} /> },
  ];
  const nodeColumns: Column<UpgradeNode>[] = [
    { key: 'node', header: 'Node', width: 'minmax(120px, 1fr)', render: (n) => n.name, sortValue: (n) => n.name },
    { key: 'batch', header: 'Batch', width: '70px', render: (n) => n.batch, sortValue: (n) => n.batch },
    { key: 'state', header: 'State', width: '120px', render: (n) => <StatusBadge status={n.state} />, sortValue: (n) => n.state },
    { key: 'from', header: 'From', width: '110px', render: (n) => <code>{n.fromVersion ?? '—'}</code> },
    { key: 'took', header: 'Took', width: '90px', render: (n) => (n.startedAt && n.finishedAt ? duration(n.finishedAt - n.startedAt) : '—') },
    { key: 'reason', header: 'Reason', width: 'minmax(200px, 3fr)', render: (n) => n.reason ?? '' },
  ];
  return (
    <Resolved {...upgrade}>
      {(u) => (
        <>
          <PageHeader
            title={
              <>
                Upgrade to <code>{u.version}</code> <StatusBadge status={u.state} />
              </>
            }
            subtitle={<code>{u.id}</code>}
            actions={
              <>
                {u.state === 'running' && (
                  <button type="button" onClick={() => act('pause')}>
                    Pause
                  </button>
                )}
                {u.state === 'paused' && (
                  <button type="button" onClick={() => act('resume')}>
                    Resume
                  </button>
                )}
                {(u.state === 'running' || u.state === 'paused') && (
                  <button type="button" onClick={() => act('abort')}>
                    Abort
                  </button>
                )}
              </>
            }
          />
          <Section title="Upgrade">
            <Facts
              items={[
                ['Target', <code key="t">{JSON.stringify(u.target)}</code>],
                ['Nodes', String(u.total)],
                ['Progress', <JobCounts key="c" counts={u.counts} />],
                ['Pace', `${u.batchSize ? `batches of ${u.batchSize}` : `at most ${u.maxUnavailable} at once`}${u.canary ? `, ${u.canary} canary first` : ''}`],
                ['Pauses after', `${u.failureThreshold + 1} failure(s)`],
                ['Grace', duration(u.graceMs)],
                ...(u.reason ? ([['Reason', u.reason]] as [string, string][]) : []),
                ['Started', time(u.createdAt)],
                ['Took', u.finishedAt ? duration(u.finishedAt - u.createdAt) : '—'],
              ]}
            />
          </Section>
          <Section title="Batches">
            <DataTable label="batches" rows={u.batches} columns={batchColumns} rowKey={(b) => String(b.batch)} />
          </Section>
          <Section title="Nodes">
            <DataTable label="nodes" rows={u.nodes} columns={nodeColumns} rowKey={(n) => n.nodeId} onRowClick={(n) => navigate(`/nodes/${n.nodeId}`)} />
          </Section>
        </>
      )}
    </Resolved>
  );
}
