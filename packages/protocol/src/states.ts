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
