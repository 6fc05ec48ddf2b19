import { AlertService } from '../../src/alerts/service.js';
import type { Context } from '../../src/core/context.js';
import type { Store } from '../../src/store/store.js';
import { T0 } from '../helpers/rows.js';
import { testContext } from '../helpers/context.js';

/** A control-plane context on a real store with a clock the test moves. */
export function alertContext(store: Store): { ctx: Context; alerts: AlertService; clock: { now: number }; events: string[] } {
  const clock = { now: T0 };
  const ctx = testContext(store, clock);
  const alerts = new AlertService(ctx, () => {});
  ctx.alerts = alerts;
  const events: string[] = [];
  ctx.bus.subscribe((e) => {
    if (e.event.kind.startsWith('alert.')) events.push(`${e.event.kind} ${(e.event as { alert: { key: string } }).alert.key}`);
  });
  return { ctx, alerts, clock, events };
}
