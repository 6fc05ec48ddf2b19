import { pino } from 'pino';
import { AlertService } from '../../src/alerts/service.js';
import type { Context } from '../../src/core/context.js';
import { EventBus } from '../../src/core/bus.js';
import { Metrics } from '../../src/core/metrics.js';
import type { Store } from '../../src/store/store.js';
import { T0 } from '../helpers/rows.js';

/** A control-plane context on a real store with a clock the test moves. */
export function alertContext(store: Store): { ctx: Context; alerts: AlertService; clock: { now: number }; events: string[] } {
  const clock = { now: T0 };
  const ctx: Context = {
    store,
    bus: new EventBus(),
    log: pino({ level: 'silent' }),
    settings: { offlineAfterMs: 45_000, disconnectGraceMs: 10_000, heartbeatIntervalMs: 15_000, sweepIntervalMs: 1000, timeoutGraceMs: 5000 },
    now: () => clock.now,
    startedAt: T0,
    alerts: { fire: async () => {}, resolve: async () => {} },
    metrics: new Metrics(),
  };
  const alerts = new AlertService(ctx, () => {});
  ctx.alerts = alerts;
  const events: string[] = [];
  ctx.bus.subscribe((e) => {
    if (e.event.kind.startsWith('alert.')) events.push(`${e.event.kind} ${(e.event as { alert: { key: string } }).alert.key}`);
  });
  return { ctx, alerts, clock, events };
}
