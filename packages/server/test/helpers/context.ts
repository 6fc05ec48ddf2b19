import { pino } from 'pino';
import type { Context } from '../../src/core/context.js';
import { EventBus } from '../../src/core/bus.js';
import { DEFAULT_LIMITS } from '../../src/core/limits.js';
import { Metrics } from '../../src/core/metrics.js';
import type { Store } from '../../src/store/store.js';
import { T0 } from './rows.js';

/** A control-plane context on a real store, silent, with a clock the test moves (`clock.now`). */
export function testContext(store: Store, clock: { now: number } = { now: T0 }): Context {
  return {
    store,
    bus: new EventBus(),
    log: pino({ level: 'silent' }),
    settings: { offlineAfterMs: 45_000, startupGuardMs: 90_000, disconnectGraceMs: 10_000, heartbeatIntervalMs: 15_000, sweepIntervalMs: 1000, timeoutGraceMs: 5000, limits: { ...DEFAULT_LIMITS } },
    now: () => clock.now,
    startedAt: T0,
    alerts: { fire: async () => {}, resolve: async () => {} },
    metrics: new Metrics(),
  };
}
