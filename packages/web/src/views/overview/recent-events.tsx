import { useState } from 'react';
import { useSession } from '../../app-context.js';
import type { StewardEvent } from '../../api/types.js';
import { StatusBadge } from '../../components/badges.js';
import { Section } from '../../components/page.js';
import { Empty } from '../../components/states.js';
import { ago } from '../../format.js';
import { useEvents } from '../../hooks/use-events.js';
import { useNodeNames } from '../../hooks/use-node-names.js';
import { useNow } from '../../hooks/use-now.js';
import { Link } from '../../router.js';

/** What an event says, in a line; kinds added by features fall back to their kind. */
function describe(e: StewardEvent, names: Map<string, string>) {
  switch (e.kind) {
    case 'node.status':
      return (
        <>
          <Link to={`/nodes/${e.nodeId}`}>{e.name}</Link> is <StatusBadge status={e.status} /> <span className="muted">({e.reason})</span>
        </>
      );
    case 'node.changed':
      return (
        <>
          node <Link to={`/nodes/${e.nodeId}`}>{e.name}</Link> {e.change}
        </>
      );
    case 'command.state':
      return (
        <>
          <Link to={`/commands/${e.commandId}`}>
            <code>{e.type}</code>
          </Link>{' '}
          on <Link to={`/nodes/${e.nodeId}`}>{names.get(e.nodeId) ?? e.nodeId}</Link> <StatusBadge status={e.state} />
        </>
      );
    case 'job.state':
      return (
        <>
          <Link to={`/jobs/${e.jobId}`}>job</Link> <StatusBadge status={e.state} />
        </>
      );
    case 'alert.fired':
    case 'alert.resolved':
    case 'alert.acked':
      return (
        <>
          <Link to="/alerts">alert</Link> {e.kind === 'alert.acked' ? <StatusBadge status="acked" /> : <StatusBadge status={e.alert.state} />}{' '}
          <StatusBadge status={e.alert.severity} /> {e.alert.summary}
        </>
      );
    case 'task.state':
      return (
        <>
          <Link to={`/tasks/${e.taskId}`}>task</Link> <StatusBadge status={e.state} />
          {e.reason ? <span className="muted"> ({e.reason})</span> : null}
        </>
      );
    case 'service.state':
      return (
        <>
          service <Link to={`/services/${e.service}`}>{e.service}</Link>{' '}
          {e.state ? <StatusBadge status={e.state} /> : 'changed'}
          {e.version ? ` ${e.version}` : ''}
          {e.nodeId ? (
            <>
              {' '}
              on <Link to={`/nodes/${e.nodeId}`}>{names.get(e.nodeId) ?? e.nodeId}</Link>
            </>
          ) : null}
        </>
      );
    case 'node.config':
      return (
        <>
          config of <Link to={`/nodes/${e.nodeId}`}>{names.get(e.nodeId) ?? e.nodeId}</Link> <StatusBadge status={e.state} />
          {e.reason ? <span className="muted"> ({e.reason})</span> : null}
        </>
      );
    case 'agent-config.changed':
      return (
        <>
          config document <Link to="/config">{e.name}</Link> {e.change}
        </>
      );
    case 'agent-upgrade':
      return (
        <>
          agent upgrade to <Link to={`/upgrades/${e.upgradeId}`}>{e.version}</Link>{' '}
          {e.nodeId ? (
            <>
              on <Link to={`/nodes/${e.nodeId}`}>{names.get(e.nodeId) ?? e.nodeId}</Link> <StatusBadge status={e.nodeState ?? e.state} />
            </>
          ) : (
            <StatusBadge status={e.state} />
          )}
          {e.reason ? <span className="muted"> ({e.reason})</span> : null}
        </>
      );
    default:
      return <code>{(e as { kind: string }).kind}</code>;
  }
}

export function RecentEvents() {
  const { events } = useSession();
  const [list, setList] = useState<StewardEvent[]>(() => events.recent.slice(0, 30));
  const now = useNow(5000);
  const names = useNodeNames();
  useEvents(() => setList(events.recent.slice(0, 30)));
  return (
    <Section title="Recent events">
      {list.length === 0 ? (
        <Empty title="No events since this page opened">Node status changes, commands and jobs appear here as they happen.</Empty>
      ) : (
        <ul className="events" data-testid="recent-events">
          {list.map((e, i) => (
            <li key={`${e.at}-${i}`}>
              <span className="event-time">{ago(e.at, now)}</span> {describe(e, names)}
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}
