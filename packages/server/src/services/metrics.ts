import { SERVICE_STATES } from '@steward/protocol';
import type { Context } from '../core/context.js';
import { countServiceNodesByState } from '../store/queries/services.js';

/** Service instances (one service on one node) by their last reported state, on `/metrics`. */
export function registerServiceMetrics(ctx: Context): void {
  ctx.metrics.gauge({
    name: 'steward_service_instances',
    help: 'Services on nodes by their last reported state',
    labelNames: ['state'],
    async collect() {
      this.reset();
      for (const s of SERVICE_STATES) this.set({ state: s }, 0);
      for (const r of await countServiceNodesByState(ctx.store.db)) this.set({ state: r.state }, r.n);
    },
  });
}
