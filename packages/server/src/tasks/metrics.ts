import { ACTIVE_ATTEMPT_STATES } from '@steward/protocol';
import type { Context } from '../core/context.js';
import { countAttemptsInStates } from '../store/queries/task-attempts.js';
import { countTasksInState } from '../store/queries/tasks.js';

/**
 * The scheduler's load on `/metrics`: tasks waiting for a node and attempts holding a slot.
 * Read from the store on each scrape, so every replica reports the whole pool.
 */
export function registerTaskMetrics(ctx: Context): void {
  const db = () => ctx.store.db;
  ctx.metrics.gauge({
    name: 'steward_task_queue_depth',
    help: 'Tasks queued (waiting for a node that fits, or for their retry time)',
    async collect() {
      this.set(await countTasksInState(db(), 'queued'));
    },
  });
  ctx.metrics.gauge({
    name: 'steward_task_attempts_active',
    help: 'Task attempts holding a node slot, by state (placed: on its way; running)',
    labelNames: ['state'],
    async collect() {
      this.reset();
      for (const s of ACTIVE_ATTEMPT_STATES) this.set({ state: s }, 0);
      for (const r of await countAttemptsInStates(db(), ACTIVE_ATTEMPT_STATES)) this.set({ state: r.state }, r.n);
    },
  });
}
