import type { Logger } from 'pino';
import type { AlertSink } from './alert-sink.js';
import type { EventBus } from './bus.js';
import type { Metrics } from './metrics.js';
import type { Limits } from './limits.js';
import type { Store } from '../store/store.js';

/** Options after defaults are applied. */
export interface Settings {
  offlineAfterMs: number;
  /**
   * After start, no node is marked offline for this long (`STEWARD_STARTUP_GUARD_MS`, 90 s):
   * longer than the agents' 60 s backoff ceiling, so every agent can come back first.
   */
  startupGuardMs: number;
  disconnectGraceMs: number;
  heartbeatIntervalMs: number;
  sweepIntervalMs: number;
  /** Extra time past a command's timeout before the control plane gives up on its agent. */
  timeoutGraceMs: number;
  /** Bounds on what one agent or client may cost (core/limits.ts). */
  limits: Limits;
  /** Set when the data dir was restored from a backup (`restored-from.json`): agents are asked what they got in between. */
  restored?: { backupAt: number; restoredAt: number } | null;
}

/** What every service shares; built once by the control plane. */
export interface Context {
  store: Store;
  bus: EventBus;
  log: Logger;
  settings: Settings;
  now: () => number;
  /** When this process started serving (listening); liveness waits the start-up guard past it. */
  startedAt: number;
  /** Where alerts go; replaced by the alerts feature when it starts. */
  alerts: AlertSink;
  /** Prometheus metrics served at /metrics; features register theirs here. */
  metrics: Metrics;
}
