import { retentionMs } from '../core/retention.js';

/** Recordings are kept this long after their session ended, unless configured otherwise. */
export const DEFAULT_SESSION_RETENTION_MS = 90 * 86_400_000;

/**
 * How long recordings are kept (ms), or null to keep them forever: the server option (from
 * `--session-retention`), else STEWARD_SESSION_RETENTION (`90d`, `12h`; `0` or `off` keeps
 * forever), else 90 days.
 */
export function sessionRetentionMs(option: string | undefined, env: NodeJS.ProcessEnv = process.env): number | null {
  return retentionMs({ option, optionField: 'sessionRetention', envVar: 'STEWARD_SESSION_RETENTION', defaultMs: DEFAULT_SESSION_RETENTION_MS }, env);
}
