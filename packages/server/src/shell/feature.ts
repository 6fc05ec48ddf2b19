import type { AgentLink } from '../agents/link.js';
import type { CommandService } from '../commands/service.js';
import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import { shellRoutes } from './routes.js';
import { ShellService } from './service.js';

/** Interactive terminals on nodes (`steward shell`, the dashboard's terminal). */
export function shellFeature(deps: { ctx: Context; commands: CommandService; link: Pick<AgentLink, 'sessionInput' | 'sessionResize'> }): Feature {
  const service = new ShellService(deps.ctx, deps.commands, deps.link);
  return {
    name: 'shell',
    routes: (api) => shellRoutes(api, service),
  };
}
