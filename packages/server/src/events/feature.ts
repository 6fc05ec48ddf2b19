import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import { eventRoutes } from './routes.js';

/** Live events over SSE; open streams end when the control plane drains. */
export function eventsFeature(deps: { ctx: Context }): Feature {
  const streams = new Set<() => void>();
  return {
    name: 'events',
    routes: (api) => eventRoutes(api, deps.ctx.bus, streams),
    async drain() {
      for (const end of [...streams]) end();
    },
  };
}
