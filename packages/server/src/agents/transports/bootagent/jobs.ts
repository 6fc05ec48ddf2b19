import {
  ServiceApplyPayload,
  ServiceNamePayload,
  SERVICE_NAME_PATTERN,
  type BootAgentChild,
  type BootAgentLimits,
  type BootAgentServiceJob,
  type CommandTypeInfo,
  type ServiceLimits,
  type ServiceNodeReport,
  type ServiceOutcome,
  type ServiceState,
} from '@steward/protocol';

/**
 * The Steward commands a BootAgent can carry, and the job action each becomes. `service.start`
 * has no action of its own in the seed: a restart starts a stopped child. `service.status` and
 * `service.logs` have none at all, so they are not declared and are refused at submission.
 */
export const BOOTAGENT_COMMANDS: Record<string, BootAgentServiceJob['action'] | 'apply'> = {
  'service.apply': 'apply',
  'service.remove': 'uninstall',
  'service.stop': 'stop',
  'service.restart': 'restart',
  'service.start': 'restart',
};

export const BOOTAGENT_COMMAND_TYPES: CommandTypeInfo[] = Object.keys(BOOTAGENT_COMMANDS).map((type) => ({
  type,
  module: 'service',
  safeToRerun: type !== 'service.restart',
  payloadSchema: type === 'service.apply' ? ServiceApplyPayload : ServiceNamePayload,
}));

/** Steward's service limits in the seed's words: cpuPercent 100 (one core) is `CPU: "100%"`, memoryMB 20 is `memory: "20M"`. Pids are not carried. */
export function limitsOf(l: ServiceLimits | undefined): BootAgentLimits | undefined {
  if (!l || (l.cpuPercent === undefined && l.memoryMB === undefined)) return undefined;
  return { ...(l.cpuPercent !== undefined ? { CPU: `${l.cpuPercent}%` } : {}), ...(l.memoryMB !== undefined ? { memory: `${l.memoryMB}M` } : {}) };
}

const STATES: Record<string, ServiceState> = { stoped: 'stopped', stopped: 'stopped', running: 'running', fatal: 'fatal', killed: 'killed' };

const NAME = new RegExp(SERVICE_NAME_PATTERN);

/** The Steward service a child agent is (its name in lower case), or null when no service could be named so. */
export function serviceNameOf(child: string): string | null {
  const n = child.toLowerCase();
  return NAME.test(n) ? n : null;
}

/**
 * One child agent as the services feature reads a node's report. The device tells name,
 * version, state and uptime; the revision is what Steward last installed there (null: none or
 * unknown), and the outcome is that of the last install/upgrade job.
 */
export function childReport(
  name: string,
  child: BootAgentChild,
  o: { revision: number | null; outcome: ServiceOutcome | null; deviceTime: number },
): ServiceNodeReport {
  const state = STATES[child.status] ?? 'failed';
  const running = state === 'running' && child.uptime !== undefined;
  return {
    name,
    revision: o.revision,
    version: child.version ?? null,
    state,
    pid: null,
    // From the device's own clock, so the value stays the same from one report to the next.
    startedAt: running ? Math.round(o.deviceTime - child.uptime! * 1000) : null,
    restarts: 0,
    reason: STATES[child.status] ? null : `the BootAgent reports status ${JSON.stringify(child.status)}`,
    lastOutcome: o.outcome,
    limits: 'none',
    exits: [],
  };
}

/** A service whose install keeps failing on the device (no child of that name yet). */
export function failedReport(name: string, outcome: ServiceOutcome): ServiceNodeReport {
  return { name, revision: null, version: null, state: 'failed', pid: null, startedAt: null, restarts: 0, reason: outcome.reason, lastOutcome: outcome, limits: 'none', exits: [] };
}

/** `k=v,k=v`: the seed's `tags`. */
export function tagsOf(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
