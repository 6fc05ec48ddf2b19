import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import { commandRoutes } from './routes.js';
import type { CommandService } from './service.js';
import { sweepCommands } from './sweeper.js';

/** Commands to one node: submit, list, wait, cancel; the sweep ends what would wait forever. */
export function commandsFeature(deps: { ctx: Context; commands: CommandService }): Feature {
  return {
    name: 'commands',
    routes: (api) => commandRoutes(api, deps.commands),
    sweep: async () => void (await sweepCommands(deps.ctx, deps.commands)),
  };
}
