/**
 * Every state machine of the system, each with its one transition table.
 * Stores apply a transition as `UPDATE … WHERE state IN (allowed predecessors)`,
 * so the tables here are what makes a late or duplicate message harmless.
 */
export const CommandState = {
  pending: 'pending',
  dispatched: 'dispatched',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  timed_out: 'timed_out',
  cancelled: 'cancelled',
  expired: 'expired',
} as const;
export type CommandState = (typeof CommandState)[keyof typeof CommandState];
export const COMMAND_STATES = Object.values(CommandState);

export const COMMAND_TRANSITIONS: Readonly<Record<CommandState, readonly CommandState[]>> = {
  pending: ['dispatched', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'expired'],
  // A result can overtake its `started` message, so dispatched may end directly.
  dispatched: ['running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'expired'],
  running: ['succeeded', 'failed', 'timed_out', 'cancelled'],
  succeeded: [],
  failed: [],
  timed_out: [],
  cancelled: [],
  expired: [],
};

export const TERMINAL_COMMAND_STATES: readonly CommandState[] = COMMAND_STATES.filter(
  (s) => COMMAND_TRANSITIONS[s].length === 0,
);

/** The states a command may be in for a transition to `to` to be allowed. */
export function commandPredecessors(to: CommandState): CommandState[] {
  return COMMAND_STATES.filter((from) => COMMAND_TRANSITIONS[from].includes(to));
}

export function isTerminalCommandState(s: CommandState): boolean {
  return COMMAND_TRANSITIONS[s].length === 0;
}

/** States an agent may report as the end of a command. */
export const COMMAND_RESULT_STATES = ['succeeded', 'failed', 'timed_out', 'cancelled'] as const;
export type CommandResultState = (typeof COMMAND_RESULT_STATES)[number];

export const NodeStatus = {
  online: 'online',
  offline: 'offline',
} as const;
export type NodeStatus = (typeof NodeStatus)[keyof typeof NodeStatus];
export const NODE_STATUSES = Object.values(NodeStatus);

export const NODE_TRANSITIONS: Readonly<Record<NodeStatus, readonly NodeStatus[]>> = {
  online: ['offline'],
  offline: ['online'],
};

export const JobState = {
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
} as const;
export type JobState = (typeof JobState)[keyof typeof JobState];
export const JOB_STATES = Object.values(JobState);

export const JOB_TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  running: ['succeeded', 'failed', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

export function jobPredecessors(to: JobState): JobState[] {
  return JOB_STATES.filter((from) => JOB_TRANSITIONS[from].includes(to));
}

/**
 * A supervised service on one node. `installing` covers download, checksum and unpack;
 * `starting` lasts until the health check passes (or at once without one); `backoff` waits
 * before a restart; `killed` is a kill for a limit (the kernel OOM killer or the RSS watch),
 * after which the restart policy applies; `fatal` is too many crashes in the window;
 * `failed` is an install or start that cannot succeed as asked (checksum mismatch, bad command,
 * health check failing with nothing to roll back to, or an abnormal exit under policy `never`).
 * A rollback is not a state: the service ends `running` on its old version and the status
 * carries `lastOutcome: { kind: 'rolled_back', reason }`.
 */
export const ServiceState = {
  installing: 'installing',
  starting: 'starting',
  running: 'running',
  backoff: 'backoff',
  stopped: 'stopped',
  fatal: 'fatal',
  killed: 'killed',
  failed: 'failed',
} as const;
export type ServiceState = (typeof ServiceState)[keyof typeof ServiceState];
export const SERVICE_STATES = Object.values(ServiceState);

export const SERVICE_TRANSITIONS: Readonly<Record<ServiceState, readonly ServiceState[]>> = {
  installing: ['starting', 'running', 'stopped', 'failed'],
  starting: ['running', 'backoff', 'stopped', 'fatal', 'killed', 'failed', 'installing', 'starting'],
  running: ['starting', 'backoff', 'stopped', 'fatal', 'killed', 'failed', 'installing'],
  backoff: ['starting', 'stopped', 'installing', 'fatal'],
  killed: ['backoff', 'stopped', 'fatal', 'starting', 'installing', 'failed'],
  stopped: ['starting', 'installing', 'stopped'],
  fatal: ['starting', 'installing', 'stopped'],
  failed: ['starting', 'installing', 'stopped'],
};

export function canTransitionService(from: ServiceState, to: ServiceState): boolean {
  return SERVICE_TRANSITIONS[from].includes(to);
}
