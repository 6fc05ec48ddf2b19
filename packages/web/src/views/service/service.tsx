import { useRef } from 'react';
import { healthText, restartText } from '@steward/protocol/service-text';
import { useSession } from '../../app-context.js';
import type { Service } from '../../api/types.js';
import { Facts, PageHeader, Section } from '../../components/page.js';
import { Empty, Resolved } from '../../components/states.js';
import { duration, time } from '../../format.js';
import { useNow } from '../../hooks/use-now.js';
import { useResource } from '../../hooks/use-resource.js';
import { StateCounts, targetText } from '../services.js';
import { InstancesTable } from './instances.js';

export function ServiceView({ params }: { params: Record<string, string> }) {
  const name = params.name!;
  const { api } = useSession();
  const loadedAt = useRef(Date.now());
  const service = useResource(`service:${name}`, () => api.service(name).then((s) => ((loadedAt.current = Date.now()), s)), {
    refreshOn: (e) => e.kind === 'service.state' && e.service === name,
    throttleMs: 300,
    pollMs: 15_000,
  });
  return <Resolved {...service}>{(s) => <ServiceDetail service={s} loadedAt={loadedAt.current} />}</Resolved>;
}

function ServiceDetail({ service: s, loadedAt }: { service: Service; loadedAt: number }) {
  const now = useNow(5000);
  const spec = s.spec;
  const exits = s.nodes
    .flatMap((n) => n.exits.map((e) => ({ ...e, node: n.nodeName })))
    .sort((a, b) => b.at - a.at)
    .slice(0, 30);
  return (
    <>
      <PageHeader title={s.name} subtitle={<StateCounts service={s} />} />
      <div className="grid-2">
        <Section title="Desired">
          <Facts
            items={[
              ['Version', spec.version],
              ['Revision', String(s.revision)],
              ['Target', <code key="t">{targetText(s)}</code>],
              ['Nodes targeted', String(s.targeted)],
              ['Command', <code key="c">{[spec.command, ...(spec.args ?? [])].join(' ')}</code>],
              ['Artifact', <code key="a" title={spec.artifact.sha256}>{spec.artifact.url ?? `store ${spec.artifact.artifactSha256?.slice(0, 12)}…`}</code>],
              ['Limits', spec.limits ? Object.entries(spec.limits).map(([k, v]) => `${k} ${v}`).join(', ') : 'none'],
              ['Restart', restartText(spec.restart)],
              ['Health check', healthText(spec.health)],
              ['Changed', time(s.updatedAt)],
            ]}
          />
        </Section>
        <Section title="Latest exits">
          {exits.length === 0 ? (
            <Empty title="No exits recorded" />
          ) : (
            <ul className="events">
              {exits.map((e, i) => (
                <li key={i}>
                  <span className="event-time">{time(e.at)}</span> {e.node}: {e.reason}
                  {e.code !== null ? ` (code ${e.code})` : e.signal ? ` (${e.signal})` : ''}
                  {e.delayMs !== null ? <span className="muted"> · restart after {duration(e.delayMs)}</span> : null}
                </li>
              ))}
            </ul>
          )}
        </Section>
      </div>
      <Section title="On each node">
        {s.nodes.length === 0 ? (
          <Empty title="No node has reported this service yet">
            {s.targeted === 0 ? 'Its target selects no node.' : 'Nodes report it with their next heartbeat after installing it.'}
          </Empty>
        ) : (
          <InstancesTable rows={s.nodes.map((n) => ({ ...n, wantedVersion: spec.version }))} showService={false} loadedAt={loadedAt} now={now} />
        )}
      </Section>
    </>
  );
}
