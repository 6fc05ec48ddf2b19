import type { AuditService } from '../audit/service.js';
import type { CommandService } from '../commands/service.js';
import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import { agentUpgradeRoutes } from './routes.js';
import { AgentUpgradeService } from './service.js';

/**
 * Fleet-wide agent upgrades with automatic rollback (docs/upgrades.md). Each replica drives the
 * running rollouts on its sweep and when an upgrade command ends; the store's conditional updates
 * and the per-node requestId make two replicas driving one rollout harmless.
 */
export function agentUpgradesFeature(deps: { ctx: Context; commands: CommandService; audit: AuditService }): Feature {
  const { ctx } = deps;
  const upgrades = new AgentUpgradeService(ctx, deps.commands, deps.audit.record);
  let unsubscribe: (() => void) | null = null;
  return {
    name: 'agent-upgrades',
    routes: (api) => agentUpgradeRoutes(api, upgrades),
    async start() {
      // A node's upgrade command ended: its rollout moves on at once rather than at the next sweep.
      unsubscribe = ctx.bus.subscribe(({ event: e }) => {
        if (e.kind === 'command.state' && e.type === 'agent.upgrade' && ['succeeded', 'failed', 'timed_out', 'cancelled', 'expired'].includes(e.state)) {
          void upgrades.driveAll();
        }
      });
    },
    async sweep() {
      await upgrades.driveAll();
    },
    async stop() {
      unsubscribe?.();
      await upgrades.idle();
    },
  };
}
