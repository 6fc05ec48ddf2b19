import { backoffMs, ValidationError } from '@steward/protocol';

/** Knobs of the alerts feature; from the environment so tests can shorten them for a child process. */
export interface AlertSettings {
  /** A node must stay offline this long before its alert fires, so a restart pages nobody. */
  nodeOfflineDelayMs: number;
  /** Command types whose failures raise alerts (`*`, `nginx.*`, `backup.run`); empty: none. */
  failedCommandTypes: string[];
  webhook: {
    maxAttempts: number;
    /** Delay before the second attempt; each later one doubles, up to `backoffMaxMs`. */
    backoffMs: number;
    backoffMaxMs: number;
    /** One attempt's limit for connect + answer. */
    timeoutMs: number;
    /** Deliveries sent at once by one replica. */
    concurrency: number;
    /** Private/loopback ranges webhooks may still reach (`10.1.0.0/16`); public addresses always may. */
    allow: string[];
  };
}

function envInt(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new ValidationError(`${name} must be an integer ≥ ${min}`, [{ field: name, rule: `integer >= ${min}` }]);
  return n;
}

const TYPE_PATTERN = /^(\*|[a-z][a-z0-9]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$/;

export function alertSettingsFrom(env: NodeJS.ProcessEnv = process.env, webhookAllow?: string[]): AlertSettings {
  const failedCommandTypes = (env.STEWARD_ALERT_FAILED_COMMANDS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const t of failedCommandTypes) {
    if (!TYPE_PATTERN.test(t)) {
      throw new ValidationError(`STEWARD_ALERT_FAILED_COMMANDS: ${JSON.stringify(t)} is not a command type or pattern`, [
        { field: 'STEWARD_ALERT_FAILED_COMMANDS', rule: 'comma-separated command types, prefix.* or *' },
      ]);
    }
  }
  return {
    nodeOfflineDelayMs: envInt(env, 'STEWARD_ALERT_NODE_OFFLINE_DELAY_MS', 60_000, 0),
    failedCommandTypes,
    webhook: {
      maxAttempts: envInt(env, 'STEWARD_WEBHOOK_MAX_ATTEMPTS', 8),
      backoffMs: envInt(env, 'STEWARD_WEBHOOK_BACKOFF_MS', 2000),
      backoffMaxMs: envInt(env, 'STEWARD_WEBHOOK_BACKOFF_MAX_MS', 600_000),
      timeoutMs: envInt(env, 'STEWARD_WEBHOOK_TIMEOUT_MS', 10_000),
      concurrency: envInt(env, 'STEWARD_WEBHOOK_CONCURRENCY', 16),
      allow: webhookAllow ?? (env.STEWARD_WEBHOOK_ALLOW ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    },
  };
}

/** Whether a command type is one whose failures the operator asked to hear about. */
export function matchesTypePattern(patterns: string[], type: string): boolean {
  return patterns.some((p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))));
}

/** Delay before attempt `n + 1` after `n` attempts failed: base × 2^(n−1), capped. */
export function backoffDelay(attemptsSoFar: number, baseMs: number, maxMs: number): number {
  return backoffMs({ kind: 'exponential', initialMs: baseMs, maxMs }, Math.max(0, attemptsSoFar - 1));
}
