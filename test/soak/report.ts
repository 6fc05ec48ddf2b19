import type { InvariantResult, DrainTimings } from './checker.js';
import type { FaultEvent, FaultKind } from './faults.js';

export interface SoakReport {
  seed: number;
  agents: number;
  /** The fleet's directory: logs, effect files, the agents' data dirs (kept for reading a violation). */
  dir?: string;
  /** How long faults and work flowed. */
  chaosMs: number;
  /** From start to the end of the checks. */
  totalMs: number;
  faults: Record<FaultKind, number>;
  /** Every fault, times in ms since the soak started. */
  faultEvents: FaultEvent[];
  workload: Record<string, number>;
  /** Submits not accepted, by reason (`503 store_unavailable`, `network: ECONNREFUSED`…). */
  refusals: Record<string, number>;
  /** service.apply commands by final state. */
  serviceCommands: Record<string, number>;
  invariants: InvariantResult[];
  drain: DrainTimings;
  /** Largest resident memory seen per replica during the soak, and at the end (MiB). */
  replicaRssMiB: { max: number[]; end: (number | null)[] };
  /** os.loadavg() at the end (1, 5, 15 min). */
  load: number[];
  /** Set when the soak itself broke (a fault that could not be healed, the fleet not starting). */
  error?: string;
}

export function violations(r: SoakReport): number {
  return r.invariants.reduce((n, i) => n + i.violated, 0);
}

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const padL = (s: string | number, n: number) => String(s).padStart(n);

/** A plain-text table of the report, for a terminal or a note. */
export function formatReport(r: SoakReport): string {
  const out: string[] = [];
  out.push(`soak: seed ${r.seed}, ${r.agents} agents, chaos ${(r.chaosMs / 60_000).toFixed(1)} min, total ${(r.totalMs / 60_000).toFixed(1)} min, load ${r.load.map((x) => x.toFixed(2)).join(' ')}`);
  out.push('');
  out.push(`${pad('fault', 16)}${padL('injected', 9)}`);
  for (const [k, n] of Object.entries(r.faults)) out.push(`${pad(k, 16)}${padL(n, 9)}`);
  out.push('');
  out.push(`${pad('workload', 18)}${padL('count', 8)}`);
  for (const [k, n] of Object.entries(r.workload)) out.push(`${pad(k, 18)}${padL(n, 8)}`);
  for (const [k, n] of Object.entries(r.refusals)) out.push(`  refused: ${k}: ${n}`);
  out.push(`  service.apply commands: ${JSON.stringify(r.serviceCommands)}`);
  out.push('');
  out.push(`${pad('invariant', 36)}${padL('checked', 9)}${padL('violated', 10)}${padL('excused', 9)}`);
  for (const i of r.invariants) {
    out.push(`${pad(i.name, 36)}${padL(i.checked, 9)}${padL(i.violated, 10)}${padL(i.excused, 9)}`);
    for (const e of i.examples) out.push(`    ${e}`);
    for (const e of i.excusedExamples) out.push(`    excused: ${e}`);
  }
  out.push('');
  out.push(`drain: online ${r.drain.onlineMs} ms, commands ${r.drain.commandsMs} ms, tasks ${r.drain.tasksMs} ms, webhooks ${r.drain.webhooksMs} ms`);
  out.push(`replica RSS MiB: max ${r.replicaRssMiB.max.join(' / ')}, end ${r.replicaRssMiB.end.map((x) => x ?? '-').join(' / ')}`);
  if (r.error) out.push(`ERROR: ${r.error}`);
  out.push(violations(r) === 0 && !r.error ? 'RESULT: every invariant held' : `RESULT: ${violations(r)} violation(s)${r.error ? ' and an error' : ''}`);
  return out.join('\n');
}
