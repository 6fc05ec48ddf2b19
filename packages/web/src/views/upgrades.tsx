import { useSession } from '../app-context.js';
import type { AgentUpgrade } from '../api/types.js';
import { StatusBadge } from '../components/badges.js';
import { DataTable, type Column } from '../components/data-table.js';
import { PageHeader } from '../components/page.js';
import { Empty, Resolved } from '../components/states.js';
import { ago, duration } from '../format.js';
import { useNow } from '../hooks/use-now.js';
import { useResource } from '../hooks/use-resource.js';
import { navigate } from '../router.js';
import { JobCounts } from './job.js';

/** Fleet-wide agent upgrades, newest first (docs/upgrades.md). */
export function UpgradesView() {
  const { api } = useSession();
  const now = useNow(5000);
  const upgrades = useResource('agent-upgrades', () => api.agentUpgrades(), { refreshOn: (e) => e.kind === 'agent-upgrade', throttleMs: 500 });
  const columns: Column<AgentUpgrade>[] = [
    { key: 'state', header: 'State', width: '110px', render: (u) => <StatusBadge status={u.state} title={u.reason ?? undefined} />, sortValue: (u) => u.state },
    { key: 'version', header: 'Version', width: 'minmax(110px, 1fr)', render: (u) => <code>{u.version}</code>, sortValue: (u) => u.version },
    { key: 'nodes', header: 'Nodes', width: '80px', render: (u) => u.total, sortValue: (u) => u.total },
    { key: 'counts', header: 'Progress', width: 'minmax(200px, 2fr)', render: (u) => <JobCounts counts={u.counts} /> },
    { key: 'created', header: 'Started', width: '110px', render: (u) => ago(u.createdAt, now), sortValue: (u) => u.createdAt },
    { key: 'took', header: 'Took', width: '90px', render: (u) => (u.finishedAt ? duration(u.finishedAt - u.createdAt) : '—') },
  ];
  return (
    <>
      <PageHeader title="Upgrades" subtitle="Agents upgraded batch by batch; a new agent not welcomed within the grace is rolled back." />
      <Resolved
        {...upgrades}
        isEmpty={(d) => d.length === 0}
        empty={
          <Empty title="No agent upgrades yet">
            Start one with <code>steward agents upgrade --version V --all --canary 1</code> or <code>POST /api/v1/agent-upgrades</code>.
          </Empty>
        }
      >
        {(us) => <DataTable label="agent upgrades" rows={us} columns={columns} rowKey={(u) => u.id} onRowClick={(u) => navigate(`/upgrades/${u.id}`)} />}
      </Resolved>
    </>
  );
}
