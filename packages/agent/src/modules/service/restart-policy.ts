import { backoffMs, RESTART_DEFAULTS, type RestartPolicy } from '@steward/protocol';

export interface ResolvedRestart {
  policy: 'always' | 'on-failure' | 'never';
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
  resetAfterMs: number;
  fatalAfter: { crashes: number; withinMs: number };
}

export function resolveRestart(r: RestartPolicy | undefined): ResolvedRestart {
  return {
    policy: r?.policy ?? RESTART_DEFAULTS.policy,
    initialDelayMs: r?.initialDelayMs ?? RESTART_DEFAULTS.initialDelayMs,
    maxDelayMs: r?.maxDelayMs ?? RESTART_DEFAULTS.maxDelayMs,
    multiplier: r?.multiplier ?? RESTART_DEFAULTS.multiplier,
    resetAfterMs: r?.resetAfterMs ?? RESTART_DEFAULTS.resetAfterMs,
    fatalAfter: r?.fatalAfter ?? { ...RESTART_DEFAULTS.fatalAfter },
  };
}

export type ExitDecision =
  | { kind: 'restart'; delayMs: number; step: number }
  | { kind: 'fatal'; crashesInWindow: number }
  | { kind: 'stop'; state: 'stopped' | 'failed' };

/**
 * What happens after an exit the supervisor did not ask for.
 * - `crashes` are the times of earlier abnormal exits (non-zero code, a signal, a limit kill).
 * - fatal: this exit is abnormal and, counting it, at least `fatalAfter.crashes` abnormal exits
 *   happened within the last `fatalAfter.withinMs`. So "more than 3 abnormal exits within
 *   15 minutes" is `{ crashes: 4, withinMs: 900000 }`.
 * - otherwise restart after initialDelayMs × multiplier^step (capped at maxDelayMs), where step
 *   counts restarts since the process last stayed up resetAfterMs.
 */
export function decideAfterExit(
  p: ResolvedRestart,
  exit: { abnormal: boolean; at: number; upMs: number },
  crashes: readonly number[],
  step: number,
): ExitDecision {
  if (p.policy === 'never' || (p.policy === 'on-failure' && !exit.abnormal)) {
    return { kind: 'stop', state: exit.abnormal ? 'failed' : 'stopped' };
  }
  if (exit.abnormal) {
    const inWindow = crashes.filter((t) => t > exit.at - p.fatalAfter.withinMs).length + 1;
    if (inWindow >= p.fatalAfter.crashes) return { kind: 'fatal', crashesInWindow: inWindow };
  }
  const from = exit.upMs >= p.resetAfterMs ? 0 : step;
  const delayMs = backoffMs({ kind: 'exponential', initialMs: p.initialDelayMs, maxMs: p.maxDelayMs, multiplier: p.multiplier }, from);
  return { kind: 'restart', delayMs, step: from + 1 };
}
