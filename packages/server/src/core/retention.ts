import { parseDuration, ValidationError } from '@steward/protocol';

export interface RetentionSetting {
  /** The server option's value (from a CLI flag), if given; it wins over the environment. */
  option: string | undefined;
  /** The option's name, for errors. */
  optionField: string;
  /** The environment variable read when the option is not given. */
  envVar: string;
  defaultMs: number;
  /** Shorter retentions are refused: what reads the data later must still find it. */
  minMs?: number;
}

/**
 * How long something is kept (ms), or null to keep it forever: the option, else the environment
 * variable (`90d`, `12h`; `0` or `off` keeps forever), else the default. A bad value is a
 * ValidationError naming where it came from, so the server refuses to start on it.
 */
export function retentionMs(s: RetentionSetting, env: NodeJS.ProcessEnv = process.env): number | null {
  const text = s.option ?? env[s.envVar];
  if (text === undefined || text.trim() === '') return s.defaultMs;
  if (/^\s*off\s*$/i.test(text)) return null;
  const field = s.option !== undefined ? s.optionField : s.envVar;
  let ms: number;
  try {
    ms = parseDuration(text, field);
  } catch {
    throw new ValidationError(`${field}: ${JSON.stringify(text)} is not a duration (90d, 12h, 30m) or off`, [{ field, rule: 'duration or off' }]);
  }
  if (ms === 0) return null;
  if (s.minMs !== undefined && ms < s.minMs) {
    throw new ValidationError(`${field}: ${JSON.stringify(text)} is shorter than the least allowed (${s.minMs / 60_000} minutes)`, [{ field, rule: `>= ${s.minMs} ms` }]);
  }
  return ms;
}
