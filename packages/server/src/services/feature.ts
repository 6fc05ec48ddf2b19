import { ServiceModuleReport, ServiceNodeReport, Type, type ServiceModuleReport as Report, type ServiceNodeReport as NodeReport } from '@steward/protocol';
import type { AgentLink } from '../agents/link.js';
import type { CommandService } from '../commands/service.js';
import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import { deleteOrphanServiceNodes, purgeDeletedServices } from '../store/queries/services.js';
import { ServiceCatalog } from './catalog.js';
import { SecretBox } from '../security/secret-box.js';
import { registerServiceMetrics } from './metrics.js';
import { Reconciler } from './reconciler.js';
import { serviceRoutes } from './routes.js';
import { StatusRecorder } from './status-recorder.js';

/**
 * Supervised services: desired state per service (PUT/GET/DELETE /api/v1/services/:name),
 * reconciled onto the nodes it targets through `service.apply` / `service.remove` commands,
 * and each node's reported state (heartbeat report of the agent's `service` module, plus its
 * `service.state` events).
 */
export function servicesFeature(deps: { ctx: Context; commands: CommandService; link: Pick<AgentLink, 'modules'>; dataDir: string }): Feature {
  const { ctx } = deps;
  const recorder = new StatusRecorder(ctx);
  registerServiceMetrics(ctx);
  const box = SecretBox.open(deps.dataDir);
  const reconciler = new Reconciler(ctx, deps.commands, box);
  const catalog = new ServiceCatalog(ctx, deps.commands, reconciler, box);
  // Reconcile work for one node runs one at a time, so a burst of reports sends one command.
  const queues = new Map<string, Promise<void>>();
  const serial = (nodeId: string, fn: () => Promise<void>) => {
    const next = (queues.get(nodeId) ?? Promise.resolve()).then(fn).catch((err) => ctx.log.error({ err, nodeId }, 'service reconcile failed'));
    queues.set(nodeId, next);
    void next.then(() => queues.get(nodeId) === next && queues.delete(nodeId));
    return next;
  };
  deps.link.modules.register('service', {
    reportSchema: ServiceModuleReport,
    eventSchemas: { state: ServiceNodeReport, removed: Type.Object({ name: Type.String() }) },
    report: (nodeId, report, at) =>
      serial(nodeId, async () => {
        await recorder.report(nodeId, report as Report, at);
        await reconciler.node(nodeId, await recorder.revisions(nodeId));
      }),
    event: (nodeId, event, data, at) =>
      serial(nodeId, async () => {
        if (event === 'state') await recorder.one(nodeId, data as NodeReport, at);
        else if (event === 'removed') await recorder.removed(nodeId, (data as { name: string }).name, at);
      }),
  });
  let sweeps = 0;
  return {
    name: 'services',
    routes: (api) => serviceRoutes(api, catalog),
    async sweep(now) {
      // Cheap housekeeping, not worth every tick: about once a minute at the default 1 s sweep.
      if (++sweeps % 60 === 1) await deleteOrphanServiceNodes(ctx.store.db);
      await purgeDeletedServices(ctx.store.db);
      recorder.prune(now);
      reconciler.prune(now);
    },
    async drain() {
      await Promise.allSettled([...queues.values()]);
    },
  };
}
