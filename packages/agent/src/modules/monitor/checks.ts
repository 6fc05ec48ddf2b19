import { ValidationError, type CheckInput, type CheckPresetName, type CheckSpec, type Severity } from '@steward/protocol';

type WithDefaults<T> = T extends unknown
  ? Omit<T, 'intervalMs' | 'failuresBeforeFiring' | 'successesBeforeResolving' | 'severity' | 'timeoutMs'> & {
      intervalMs: number;
      failuresBeforeFiring: number;
      successesBeforeResolving: number;
      severity: Severity;
    } & (T extends { timeoutMs?: number } ? { timeoutMs: number } : unknown)
  : never;

/** A check as the agent runs it: preset expanded, every default filled in. */
export type ResolvedCheck = WithDefaults<CheckSpec>;

export const CHECK_DEFAULTS = { intervalMs: 30_000, failuresBeforeFiring: 3, successesBeforeResolving: 2, timeoutMs: 5000 };

/** The daemons the presets watch, and how. Dead daemons are critical: sites or FTP are down. */
const PRESETS: Record<CheckPresetName, { name: string; intervalMs: number; failuresBeforeFiring: number; successesBeforeResolving: number }> = {
  'nginx-alive': { name: 'nginx', intervalMs: 10_000, failuresBeforeFiring: 2, successesBeforeResolving: 2 },
  'pure-ftpd-alive': { name: 'pure-ftpd', intervalMs: 10_000, failuresBeforeFiring: 2, successesBeforeResolving: 2 },
};

function expand(input: CheckInput): CheckSpec {
  if (!('preset' in input)) return input;
  const p = PRESETS[input.preset];
  return {
    kind: 'process',
    id: input.id ?? input.preset,
    name: p.name,
    ...(input.pidFile ? { pidFile: input.pidFile } : {}),
    intervalMs: input.intervalMs ?? p.intervalMs,
    failuresBeforeFiring: input.failuresBeforeFiring ?? p.failuresBeforeFiring,
    successesBeforeResolving: input.successesBeforeResolving ?? p.successesBeforeResolving,
    severity: input.severity ?? 'critical',
  };
}

function withDefaults(spec: CheckSpec): ResolvedCheck {
  const base = {
    ...spec,
    intervalMs: spec.intervalMs ?? CHECK_DEFAULTS.intervalMs,
    failuresBeforeFiring: spec.failuresBeforeFiring ?? CHECK_DEFAULTS.failuresBeforeFiring,
    successesBeforeResolving: spec.successesBeforeResolving ?? CHECK_DEFAULTS.successesBeforeResolving,
    severity: spec.severity ?? (spec.kind === 'process' ? 'critical' : 'warning'),
  };
  if (spec.kind === 'tcp' || spec.kind === 'http') return { ...base, timeoutMs: spec.timeoutMs ?? CHECK_DEFAULTS.timeoutMs } as ResolvedCheck;
  return base as ResolvedCheck;
}

/**
 * Checks as given (config or `monitor.checks.set`, already schema-valid) → what runs. Refuses
 * what the schema cannot say: a duplicate id, a process check with neither name nor pid file,
 * an inverted status range. `field` prefixes the names in the error (`monitor.checks`).
 */
export function resolveChecks(inputs: CheckInput[], field: string): ResolvedCheck[] {
  const seen = new Set<string>();
  return inputs.map((input, i) => {
    const check = withDefaults(expand(input));
    const at = `${field}[${i}]`;
    if (seen.has(check.id)) throw new ValidationError(`check id ${check.id} is used twice`, [{ field: `${at}.id`, rule: 'unique' }]);
    seen.add(check.id);
    if (check.kind === 'process' && !check.name && !check.pidFile) {
      throw new ValidationError(`process check ${check.id} needs name or pidFile`, [{ field: `${at}.name`, rule: 'name or pidFile' }]);
    }
    if (check.kind === 'http' && Array.isArray(check.expectStatus) && check.expectStatus[0] > check.expectStatus[1]) {
      throw new ValidationError(`check ${check.id}: expectStatus range is inverted`, [{ field: `${at}.expectStatus`, rule: '[min, max] with min <= max' }]);
    }
    return check;
  });
}

/** What a check watches, in words, for alert summaries. */
export function describeCheck(c: ResolvedCheck): string {
  switch (c.kind) {
    case 'disk':
      return `disk ${c.mounts?.join(', ') ?? 'all mounts'} over ${c.maxUsedPercent}%`;
    case 'process':
      return `process ${c.name ?? ''}${c.pidFile ? ` (pid file ${c.pidFile})` : ''}`.replace('process  (', 'process (');
    case 'tcp':
      return `tcp ${c.host}:${c.port}`;
    case 'http':
      return `http ${c.method ?? 'GET'} ${c.url}`;
  }
}

/** Same JSON for the same check whatever the key order, to tell a changed check from a kept one. */
export function checkFingerprint(c: ResolvedCheck): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sort) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, sort(x)])) : v;
  return JSON.stringify(sort(c));
}
