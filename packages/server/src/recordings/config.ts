import { parseDuration, ValidationError } from '@steward/protocol';

/** Recordings are kept this long after their session ended, unless configured otherwise. */
export const DEFAULT_SESSION_RETENTION_MS = 90 * 86_400_000;

/**
 * How long recordings are kept (ms), or null to keep them forever: the server option (from
 * `--session-retention`), else STEWARD_SESSION_RETENTION (`90d`, `12h`; `0` or `off` keeps
 * forever), else 90 days.
 */
export function sessionRetentionMs(option: string | undefined, env: NodeJS.ProcessEnv = process.env): number | null {
  const text = option ?? env.STEWARD_SESSION_RETENTION;
  if (text === undefined || text.trim() === '') return DEFAULT_SESSION_RETENTION_MS;
  if (/^\s*off\s*$/i.test(text)) return null;
  const field = option !== undefined ? 'sessionRetention' : 'STEWARD_SESSION_RETENTION';
  let ms: number;
  try {
    ms = parseDuration(text, field);
  } catch {
    throw new ValidationError(`${field}: ${JSON.stringify(text)} is not a duration (90d, 12h, 30m) or off`, [{ field, rule: 'duration or off' }]);
  }
  return ms === 0 ? null : ms;
}
