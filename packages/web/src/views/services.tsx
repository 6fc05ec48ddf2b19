import { useMemo, useRef } from 'react';
import { useSession } from '../app-context.js';
import type { Service } from '../api/types.js';
import { StatusBadge } from '../components/badges.js';
import { DataTable, type Column } from '../components/data-table.js';
import { PageHeader, Section } from '../components/page.js';
import { Empty, Resolved } from '../components/states.js';
import { ago } from '../format.js';
import { useNow } from '../hooks/use-now.js';
import { useResource } from '../hooks/use-resource.js';
import { navigate } from '../router.js';
import { InstancesTable, type Instance } from './service/instances.js';

/** "2 running · 1 backoff", bad states first. */
export function StateCounts({ service: s }: { service: Service }) {
  const counts = new Map<string, number>();
  for (const n of s.nodes) counts.set(n.state, (counts.get(n.state) ?? 0) + 1);
  const missing = Math.max(0, s.targeted - s.nodes.length);
  if (counts.size === 0 && missing === 0) return <span className="muted">no nodes</span>;
  return (
    <span className="chips">
      {[...counts].sort(([a], [b]) => (a === 'running' ? 1 : b === 'running' ? -1 : a.localeCompare(b))).map(([state, n]) => (
        <span key={state}>
          {n} <StatusBadge status={state} />
        </span>
      ))}
      {missing > 0 && <span className="muted">{missing} not reported yet</span>}
    </span>
  );
}

/** A resource of the services list, refreshed by `service.state` and every 15 s (uptimes). */
export function useServices() {
  const { api } = useSession();
  const loadedAt = useRef(Date.now());
  const res = useResource('services', () => api.services().then((d) => ((loadedAt.current = Date.now()), d)), {
    refreshOn: (e) => e.kind === 'service.state',
    throttleMs: 500,
    pollMs: 15_000,
  });
  return { ...res, loadedAt: loadedAt.current };
}

export function ServicesView() {
  const services = useServices();
  const now = useNow(5000);
  const instances = useMemo(
    () => (services.data ?? []).flatMap((s) => s.nodes.map((n): Instance => ({ ...n, service: s.name, wantedVersion: s.spec.version }))),
    [services.data],
  );
  const columns: Column<Service>[] = [
    { key: 'name', header: 'Service', width: 'minmax(120px, 1fr)', render: (s) => <strong>{s.name}</strong>, sortValue: (s) => s.name },
    { key: 'version', header: 'Version', width: '110px', render: (s) => s.spec.version, sortValue: (s) => s.spec.version },
    { key: 'revision', header: 'Rev', width: '55px', render: (s) => s.revision },
    { key: 'target', header: 'Target', width: 'minmax(120px, 1fr)', render: (s) => <code className="ellipsis">{targetText(s)}</code> },
    { key: 'nodes', header: 'Nodes', width: '65px', render: (s) => s.targeted, sortValue: (s) => s.targeted },
    { key: 'states', header: 'States', width: 'minmax(200px, 2fr)', render: (s) => <StateCounts service={s} /> },
    { key: 'updated', header: 'Changed', width: '100px', render: (s) => ago(s.updatedAt, now), sortValue: (s) => s.updatedAt },
  ];
  return (
    <>
      <PageHeader title="Services" subtitle="Long-running programs the agents supervise, and their state on each node. Live." />
      <Resolved
        {...services}
        isEmpty={(d) => d.length === 0}
        empty={
          <Empty title="No services yet">
            Declare one with <code>steward services apply web.yaml</code> or <code>PUT /api/v1/services/:name</code> (see <code>docs/services.md</code>).
          </Empty>
        }
      >
        {(list) => (
          <>
            <DataTable label="services" rows={list} columns={columns} rowKey={(s) => s.name} onRowClick={(s) => navigate(`/services/${s.name}`)} maxHeight="360px" />
            <Section title="On each node">
              {instances.length === 0 ? (
                <Empty title="No node has reported a service yet">Nodes report their services with their next heartbeat.</Empty>
              ) : (
                <InstancesTable rows={instances} showService loadedAt={services.loadedAt} now={now} />
              )}
            </Section>
          </>
        )}
      </Resolved>
    </>
  );
}

export function targetText(s: Service): string {
  const t = s.spec.target as { nodes?: string[]; selector?: string; all?: true };
  if (t.all) return 'all nodes';
  if (t.selector) return t.selector;
  return (t.nodes ?? []).join(', ');
}
