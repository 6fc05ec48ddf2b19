import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import type { StreamSlots } from '../core/stream-slots.js';
import { eventRoutes } from './routes.js';

/** Live events over SSE; open streams end when the control plane drains. */
export function eventsFeature(deps: { ctx: Context; sseSlots: StreamSlots }): Feature {
  const streams = new Set<() => void>();
  const dropped = deps.ctx.metrics.counter({ name: 'steward_event_streams_dropped_total', help: 'Event streams dropped because their client read too slowly' });
  return {
    name: 'events',
    routes: (api) => eventRoutes(api, deps.ctx.bus, streams, deps.sseSlots, deps.ctx.settings.limits.sseBufferBytes, () => dropped.inc()),
    async drain() {
      for (const end of [...streams]) end();
    },
  };
}
