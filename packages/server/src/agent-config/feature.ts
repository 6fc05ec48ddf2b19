import type { AgentLink } from '../agents/link.js';
import type { ArtifactService } from '../artifacts/service.js';
import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import { agentConfigRoutes } from './routes.js';
import { AgentConfigService } from './service.js';

/** How often the sweep re-checks every node held here (a relay message may have been lost). */
export const REPAIR_EVERY_MS = 10_000;

/**
 * Desired agent configuration (issue 15): layered documents, each node's effective config pushed
 * to its agent after every welcome and whenever it changes, and the agents' applied/rejected answers.
 */
export function agentConfigFeature(deps: { ctx: Context; link: AgentLink; artifacts: ArtifactService }): Feature {
  const { ctx, link } = deps;
  const configs = new AgentConfigService(ctx, link);
  link.serveConfig(configs);
  // A node fetches the plugins its effective config lists from the artifact store.
  deps.artifacts.grantNodeReads((nodeId, sha256) => configs.namesPlugin(nodeId, sha256));
  let unsubscribe: (() => void) | null = null;
  let unsubscribeDeleted: (() => void) | null = null;
  // One re-check at a time; a change arriving meanwhile asks for one more pass.
  let running: Promise<void> | null = null;
  let again = false;
  let lastRepair = 0;
  const resyncAll = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        await configs.resync().catch((err) => ctx.log.warn({ err }, 'pushing changed agent config failed'));
      } while (again);
    })().finally(() => (running = null));
  };
  return {
    name: 'agent-config',
    routes: (api) => agentConfigRoutes(api, configs),
    async start() {
      // Document changes arrive from this replica and, through the relay, from the others.
      unsubscribe = ctx.bus.subscribe(({ event: e }) => {
        if (e.kind === 'agent-config.changed') {
          configs.invalidate();
          resyncAll();
        }
        else if (e.kind === 'node.changed' && e.change === 'updated') {
          void configs.resync(e.nodeId).catch((err) => ctx.log.warn({ err, nodeId: e.nodeId }, 'pushing changed agent config failed'));
        }
      });
      // Once, by the replica that deleted the node.
      unsubscribeDeleted = ctx.bus.subscribeOriginated((e) => {
        if (e.kind === 'node.changed' && e.change === 'deleted') {
          void configs.forget(e.nodeId).catch((err) => ctx.log.warn({ err, nodeId: e.nodeId }, 'forgetting a deleted node\'s config status failed'));
        }
      });
    },
    // The repair path for a lost relay message: nodes held here whose revision is not the one
    // sent. It reads every online node, so it runs at most every REPAIR_EVERY_MS, not every sweep.
    async sweep(now) {
      if (now - lastRepair < REPAIR_EVERY_MS) return;
      lastRepair = now;
      resyncAll();
      await running;
    },
    async stop() {
      unsubscribe?.();
      unsubscribeDeleted?.();
      await running;
    },
  };
}
