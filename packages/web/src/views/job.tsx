import { useSession } from '../app-context.js';
import { StatusBadge } from '../components/badges.js';
import { CommandResult } from '../components/command-result.js';
import { CommandsTable } from '../components/commands-table.js';
import { Facts, PageHeader, Section } from '../components/page.js';
import { Resolved } from '../components/states.js';
import { ApprovalActions } from '../components/approval-actions.js';
import { duration, time } from '../format.js';
import { useNodeNames } from '../hooks/use-node-names.js';
import { useResource } from '../hooks/use-resource.js';

export function JobCounts({ counts }: { counts: Record<string, number> }) {
  const entries = Object.entries(counts).filter(([, n]) => n > 0);
  if (entries.length === 0) return <span className="muted">—</span>;
  return (
    <span className="chips">
      {entries.map(([s, n]) => (
        <span key={s} className="count">
          <StatusBadge status={s} /> {n}
        </span>
      ))}
    </span>
  );
}

export function JobView({ params }: { params: Record<string, string> }) {
  const id = params.id!;
  const { api } = useSession();
  const names = useNodeNames();
  const job = useResource(`job:${id}`, () => api.job(id), {
    refreshOn: (e) => (e.kind === 'job.state' && e.jobId === id) || (e.kind === 'command.state' && e.jobId === id),
    throttleMs: 500,
  });
  return (
    <Resolved {...job}>
      {(j) => (
        <>
          <PageHeader
            title={
              <>
                Job <code>{j.type}</code> <StatusBadge status={j.state} />
              </>
            }
            subtitle={<code>{j.id}</code>}
            actions={
              j.state === 'running' ? (
                <>
                  {(j.counts.awaiting_approval ?? 0) > 0 && <ApprovalActions kind="jobs" id={j.id} onDone={job.reload} />}
                  <button type="button" onClick={() => void api.post(`/api/v1/jobs/${j.id}/cancel`).then(job.reload, job.reload)}>
                    Cancel
                  </button>
                </>
              ) : undefined
            }
          />
          <Section title="Job">
            <Facts
              items={[
                ['Target', <code key="t">{JSON.stringify(j.target)}</code>],
                ['Nodes', String(j.total)],
                ['Results', <JobCounts key="c" counts={j.counts} />],
                ['Batch size', j.batchSize ? String(j.batchSize) : 'all at once'],
                ['Submitted', time(j.createdAt)],
                ['Took', j.finishedAt ? duration(j.finishedAt - j.createdAt) : '—'],
                ['Payload', <code key="p">{JSON.stringify(j.payload)}</code>],
              ]}
            />
          </Section>
          <Section title="Each node's result">
            <CommandsTable commands={j.commands} nodeNames={names} maxHeight="420px" />
          </Section>
          <Section title="Outputs">
            <div className="job-outputs">
              {j.commands.slice(0, 50).map((c) => (
                <details key={c.id}>
                  <summary>
                    <StatusBadge status={c.state} /> {names.get(c.nodeId) ?? c.nodeId}
                  </summary>
                  <CommandResult command={c} />
                </details>
              ))}
              {j.commands.length > 50 && <div className="hint">The first 50 of {j.commands.length}; open a row above for any other.</div>}
            </div>
          </Section>
        </>
      )}
    </Resolved>
  );
}
