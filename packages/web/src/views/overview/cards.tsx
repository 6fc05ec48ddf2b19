import type { ComponentType, ReactNode } from 'react';
import { useSession } from '../../app-context.js';
import { useNodeSummaries } from '../../hooks/use-nodes.js';
import { useResource } from '../../hooks/use-resource.js';
import { Link } from '../../router.js';

/** A figure on the overview with a link to where it comes from. */
export function Card({ title, value, detail, to, tone }: { title: string; value: ReactNode; detail?: ReactNode; to?: string; tone?: 'ok' | 'bad' | 'wait' }) {
  const body = (
    <>
      <div className="card-title">{title}</div>
      <div className={`card-value${tone ? ` tone-${tone}` : ''}`}>{value}</div>
      {detail && <div className="card-detail">{detail}</div>}
    </>
  );
  return (
    <div className="card stat" data-card={title}>
      {to ? <Link to={to}>{body}</Link> : body}
    </div>
  );
}

function NodesCard() {
  const nodes = useNodeSummaries();
  if (!nodes.data) return <Card title="Nodes online" value={nodes.error ? '!' : '…'} detail={nodes.error?.message} />;
  const online = nodes.data.filter((n) => n.status === 'online').length;
  const offline = nodes.data.length - online;
  return (
    <>
      <Card title="Nodes online" value={<span data-testid="nodes-online">{online}</span>} detail={`of ${nodes.data.length}`} to="/nodes" tone="ok" />
      <Card title="Nodes offline" value={<span data-testid="nodes-offline">{offline}</span>} to="/nodes" tone={offline ? 'bad' : undefined} />
    </>
  );
}

function CommandsCard() {
  const { api } = useSession();
  const active = useResource(
    'overview:commands',
    async () => {
      const [running, pending] = await Promise.all([api.commands({ state: 'running', limit: 10_000 }), api.commands({ state: 'pending', limit: 10_000 })]);
      return { running: running.length, pending: pending.length };
    },
    { refreshOn: (e) => e.kind === 'command.state', throttleMs: 1000 },
  );
  return (
    <Card
      title="Commands running"
      value={active.data ? active.data.running : '…'}
      detail={active.data ? `${active.data.pending} waiting for their node` : active.error?.message}
      to="/commands"
    />
  );
}

function JobsCard() {
  const { api } = useSession();
  const jobs = useResource('overview:jobs', () => api.jobs({ state: 'running', limit: 10_000 }), {
    refreshOn: (e) => e.kind === 'job.state',
    throttleMs: 1000,
  });
  return <Card title="Jobs running" value={jobs.data ? jobs.data.length : '…'} to="/jobs" />;
}

/**
 * The overview's cards, in order. A feature adds its figure (firing alerts, queued tasks…)
 * with a component here.
 */
export const OVERVIEW_CARDS: ComponentType[] = [NodesCard, CommandsCard, JobsCard];
