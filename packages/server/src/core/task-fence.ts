import type { TaskFence } from '@steward/protocol';
import { ValidationError } from '@steward/protocol';
import type { Settings } from './context.js';

/**
 * Task fencing: the one place its numbers come from (docs/tasks.md, "Fencing").
 *
 * An agent stops its running tasks once `afterMs` passed since it sent the last message the
 * control plane acknowledged (a stored heartbeat, or the hello the welcome answered). The control
 * plane places a task from a lost node again only `afterMs + killGraceMs + marginMs` after that
 * node's last-seen time, which is never earlier than the acknowledged message's sending. So the
 * first copy has been sent SIGKILL before the second can start, without any clock shared
 * between the two: each side measures a duration from the same message.
 *
 * `afterMs` is the larger of the offline threshold and three heartbeat intervals (the liveness
 * rule, liveness.ts): an agent never fences while the control plane still counts it as alive,
 * and a heartbeat or two lost in between do not fence it.
 */
export function taskFence(settings: Pick<Settings, 'offlineAfterMs'>, heartbeatIntervalMs: number, env: NodeJS.ProcessEnv = process.env): TaskFence {
  return {
    afterMs: Math.max(settings.offlineAfterMs, 3 * heartbeatIntervalMs),
    killGraceMs: envMs(env, 'STEWARD_TASK_FENCE_KILL_GRACE_MS', 2000),
    // Covers an agent whose timers run late (a loaded machine), and a clock rate drift.
    marginMs: envMs(env, 'STEWARD_TASK_FENCE_MARGIN_MS', 5000),
  };
}

/** How long after a node was last heard from its attempts may be placed again. */
export function fenceWaitMs(f: TaskFence): number {
  return f.afterMs + f.killGraceMs + f.marginMs;
}

function envMs(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new ValidationError(`${name} must be a non-negative integer (milliseconds)`, [{ field: name, rule: 'integer ≥ 0' }]);
  return n;
}
