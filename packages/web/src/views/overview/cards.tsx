import type { ComponentType, ReactNode } from 'react';
import { useSession } from '../../app-context.js';
import type { DashboardSummary } from '../../api/types.js';
import { useResource } from '../../hooks/use-resource.js';
import { Link } from '../../router.js';
import { AlertCard, BackupCard, ServiceCard, TaskCard } from './capability-cards.js';

/** A figure on the overview with a link to where it comes from. */
export function Card({ title, value, detail, to, tone, testId }: {
  title: string;
  value: ReactNode;
  detail?: ReactNode;
  to?: string;
  tone?: 'ok' | 'bad' | 'wait';
  testId?: string;
}) {
  const body = (
    <>
      <div className="card-title">{title}</div>
      <div className={`card-value${tone ? ` tone-${tone}` : ''}`} data-testid={testId}>
        {value}
      </div>
      {detail && <div className="card-detail">{detail}</div>}
    </>
  );
  return (
    <div className="card stat" data-card={title}>
      {to ? <Link to={to}>{body}</Link> : body}
    </div>
  );
}

/** The store's counts, refreshed on any event that could change them. */
function useSummary() {
  const { api } = useSession();
  return useResource<DashboardSummary>('overview:summary', api.summary, {
    refreshOn: (e) => e.kind === 'node.status' || e.kind === 'node.changed' || e.kind === 'command.state' || e.kind === 'job.state',
    throttleMs: 500,
  });
}

function FleetCards() {
  const { data, error } = useSummary();
  const v = (f: (d: DashboardSummary) => number) => (data ? f(data) : error ? '!' : '…');
  return (
    <>
      <Card title="Nodes online" value={v((d) => d.nodes.online)} to="/nodes" tone="ok" testId="nodes-online" detail={data ? `of ${data.nodes.online + data.nodes.offline + (data.nodes.reconnecting ?? 0)}${data.nodes.reconnecting ? ` · ${data.nodes.reconnecting} reconnecting` : ''}` : error?.message} />
      <Card title="Nodes offline" value={v((d) => d.nodes.offline)} to="/nodes" tone={data?.nodes.offline ? 'bad' : undefined} testId="nodes-offline" />
      <Card
        title="Commands running"
        value={v((d) => d.commands.running + d.commands.dispatched)}
        detail={data ? `${data.commands.pending} waiting for their node` : undefined}
        to="/commands"
        testId="commands-running"
      />
      <Card title="Jobs running" value={v((d) => d.jobs.running)} to="/jobs" testId="jobs-running" />
    </>
  );
}

/**
 * The overview's cards, in order. A feature adds its figure (firing alerts, queued tasks…)
 * with a component here.
 */
export const OVERVIEW_CARDS: ComponentType[] = [FleetCards, AlertCard, TaskCard, ServiceCard, BackupCard];
