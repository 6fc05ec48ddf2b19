import { useSession } from '../app-context.js';
import type { Job } from '../api/types.js';
import { StatusBadge } from '../components/badges.js';
import { DataTable, type Column } from '../components/data-table.js';
import { PageHeader } from '../components/page.js';
import { Empty, Resolved } from '../components/states.js';
import { ago, duration } from '../format.js';
import { useNow } from '../hooks/use-now.js';
import { useResource } from '../hooks/use-resource.js';
import { navigate } from '../router.js';
import { JobCounts } from './job.js';

export function JobsView() {
  const { api } = useSession();
  const now = useNow(5000);
  const jobs = useResource('jobs', () => api.jobs({ limit: 1000 }), { refreshOn: (e) => e.kind === 'job.state', throttleMs: 1000 });
  const columns: Column<Job>[] = [
    { key: 'state', header: 'State', width: '110px', render: (j) => <StatusBadge status={j.state} />, sortValue: (j) => j.state },
    { key: 'type', header: 'Type', width: 'minmax(110px, 1fr)', render: (j) => <code>{j.type}</code>, sortValue: (j) => j.type },
    { key: 'nodes', header: 'Nodes', width: '80px', render: (j) => j.total, sortValue: (j) => j.total },
    { key: 'counts', header: 'Results', width: 'minmax(200px, 2fr)', render: (j) => <JobCounts counts={j.counts} /> },
    { key: 'created', header: 'Submitted', width: '110px', render: (j) => ago(j.createdAt, now), sortValue: (j) => j.createdAt },
    { key: 'took', header: 'Took', width: '90px', render: (j) => (j.finishedAt ? duration(j.finishedAt - j.createdAt) : '—') },
  ];
  return (
    <>
      <PageHeader title="Jobs" subtitle="One command fanned out to many nodes." />
      <Resolved
        {...jobs}
        isEmpty={(d) => d.length === 0}
        empty={
          <Empty title="No jobs yet">
            Start one with <code>steward run --all -- uname -a</code> or <code>POST /api/v1/jobs</code>.
          </Empty>
        }
      >
        {(js) => <DataTable label="jobs" rows={js} columns={columns} rowKey={(j) => j.id} onRowClick={(j) => navigate(`/jobs/${j.id}`)} />}
      </Resolved>
    </>
  );
}
