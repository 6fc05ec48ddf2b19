import { useMemo } from 'react';
import { Empty, Resolved } from '../../components/states.js';
import { useNow } from '../../hooks/use-now.js';
import { InstancesTable, type Instance } from '../service/instances.js';
import { useServices } from '../services.js';

/**
 * The services on one node and their states. The services API answers per service with every
 * node; this page picks its node out (fine for the services one fleet declares).
 */
export function NodeServices({ nodeId }: { nodeId: string }) {
  const services = useServices();
  const now = useNow(5000);
  const rows = useMemo(
    () =>
      (services.data ?? []).flatMap((s) =>
        s.nodes.filter((n) => n.nodeId === nodeId).map((n): Instance => ({ ...n, service: s.name, wantedVersion: s.spec.version })),
      ),
    [services.data, nodeId],
  );
  return (
    <Resolved {...services} isEmpty={() => rows.length === 0} empty={<Empty title="No services on this node">Services whose target selects this node appear here once it reports them.</Empty>}>
      {() => <InstancesTable rows={rows} showService showNode={false} loadedAt={services.loadedAt} now={now} maxHeight="300px" />}
    </Resolved>
  );
}
