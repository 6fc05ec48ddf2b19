import type { AgentLink } from '../agents/link.js';
import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import { agentConfigRoutes } from './routes.js';
import { AgentConfigService } from './service.js';

/**
 * Desired agent configuration (issue 15): layered documents, each node's effective config pushed
 * to its agent after every welcome and whenever it changes, and the agents' applied/rejected answers.
 */
export function agentConfigFeature(deps: { ctx: Context; link: AgentLink }): Feature {
  const { ctx, link } = deps;
  const configs = new AgentConfigService(ctx, link);
  link.serveConfig(configs);
  let unsubscribe: (() => void) | null = null;
  // One re-check at a time; a change arriving meanwhile asks for one more pass.
  let running: Promise<void> | null = null;
  let again = false;
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
        if (e.kind === 'agent-config.changed') resyncAll();
        else if (e.kind === 'node.changed' && e.change === 'updated') {
          void configs.resync(e.nodeId).catch((err) => ctx.log.warn({ err, nodeId: e.nodeId }, 'pushing changed agent config failed'));
        }
      });
    },
    // The repair path for a lost relay message: nodes held here whose revision is not the one sent.
    async sweep() {
      resyncAll();
      await running;
    },
    async stop() {
      unsubscribe?.();
      await running;
    },
  };
}
