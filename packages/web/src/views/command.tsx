import { useSession } from '../app-context.js';
import { StatusBadge } from '../components/badges.js';
import { CommandResult } from '../components/command-result.js';
import { Facts, PageHeader, Section } from '../components/page.js';
import { Resolved } from '../components/states.js';
import { ApprovalActions } from '../components/approval-actions.js';
import { duration, time } from '../format.js';
import { useCommand } from '../hooks/use-command.js';
import { Link } from '../router.js';

const UNFINISHED = new Set(['awaiting_approval', 'pending', 'dispatched', 'running']);

export function CommandView({ params }: { params: Record<string, string> }) {
  const id = params.id!;
  const { api } = useSession();
  const command = useCommand(id);
  return (
    <Resolved {...command}>
      {(c) => (
        <>
          <PageHeader
            title={
              <>
                <code>{c.type}</code> <StatusBadge status={c.state} />
              </>
            }
            subtitle={<code>{c.id}</code>}
            actions={
              UNFINISHED.has(c.state) ? (
                <>
                  {/* A job's command is decided with its job. */}
                  {c.state === 'awaiting_approval' && <ApprovalActions kind={c.jobId ? 'jobs' : 'commands'} id={c.jobId ?? c.id} onDone={command.reload} />}
                  <button type="button" onClick={() => void api.cancelCommand(c.id).then(command.reload, command.reload)}>
                    Cancel
                  </button>
                </>
              ) : undefined
            }
          />
          <div className="grid-2">
            <Section title="Command">
              <Facts
                items={[
                  ['Node', <Link key="n" to={`/nodes/${encodeURIComponent(c.nodeId)}`}>{c.nodeId}</Link>],
                  ['Job', c.jobId ? <Link key="j" to={`/jobs/${c.jobId}`}>{c.jobId}</Link> : '—'],
                  ['Request id', c.requestId ?? '—'],
                  ['Submitted', time(c.createdAt)],
                  ['Dispatched', time(c.dispatchedAt)],
                  ['Started', time(c.startedAt)],
                  ['Finished', time(c.finishedAt)],
                  ['Round trip', c.finishedAt ? duration(c.finishedAt - c.createdAt) : '—'],
                  ['Deliveries', String(c.deliveries)],
                  ['Timeout / TTL', `${duration(c.timeoutMs)} / ${duration(c.ttlMs)}`],
                ]}
              />
            </Section>
            <Section title="Payload">
              <pre className="output">{JSON.stringify(c.payload, null, 2)}</pre>
            </Section>
          </div>
          <Section title="Result">
            <CommandResult command={c} />
          </Section>
        </>
      )}
    </Resolved>
  );
}
