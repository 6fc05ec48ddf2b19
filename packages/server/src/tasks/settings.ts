import { TASK_STRATEGIES, ValidationError, type TaskStrategy } from '@steward/protocol';

/** Scheduler knobs; the environment may change them (tests, benchmarks, operators). */
export interface TaskSettings {
  /** Waiting this long raises a queued task by one priority level. */
  agingMs: number;
  defaultStrategy: TaskStrategy;
  /** The scheduler also runs on this timer (retry backoff, aging, lease take-over). */
  tickMs: number;
  leaseMs: number;
  /** At least this long between the starts of two passes, so close wake-ups share one. */
  passGapMs: number;
  /** Tasks considered per scheduling pass. */
  batch: number;
  /** Output stored per attempt; beyond it chunks are dropped and the attempt marked truncated. */
  maxStoredOutputBytes: number;
}

function envInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new ValidationError(`${name} must be a positive integer`, [{ field: name, rule: 'positive integer' }]);
  return n;
}

export function taskSettings(env: NodeJS.ProcessEnv = process.env): TaskSettings {
  const strategy = env.STEWARD_TASK_STRATEGY ?? 'spread';
  if (!(TASK_STRATEGIES as readonly string[]).includes(strategy)) {
    throw new ValidationError(`STEWARD_TASK_STRATEGY must be one of ${TASK_STRATEGIES.join(', ')}`, [
      { field: 'STEWARD_TASK_STRATEGY', rule: TASK_STRATEGIES.join(' | ') },
    ]);
  }
  return {
    agingMs: envInt(env, 'STEWARD_TASK_AGING_MS', 300_000),
    defaultStrategy: strategy as TaskStrategy,
    tickMs: envInt(env, 'STEWARD_TASK_TICK_MS', 1000),
    leaseMs: envInt(env, 'STEWARD_TASK_LEASE_MS', 10_000),
    batch: envInt(env, 'STEWARD_TASK_BATCH', 2000),
    passGapMs: envInt(env, 'STEWARD_TASK_PASS_GAP_MS', 20),
    maxStoredOutputBytes: envInt(env, 'STEWARD_TASK_MAX_OUTPUT_BYTES', 4 * 1024 * 1024),
  };
}
