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
 * A compute task. `queued` covers both "never placed" and "waiting for its next try"
 * (`retryAt`); `placed` means an attempt's command is on its way to the chosen node.
 */
export const TaskState = {
  queued: 'queued',
  placed: 'placed',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
} as const;
export type TaskState = (typeof TaskState)[keyof typeof TaskState];
export const TASK_STATES = Object.values(TaskState);

export const TASK_TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = {
  queued: ['placed', 'failed', 'cancelled'],
  // back to queued: a retry, or the node was lost; a result may overtake the start.
  placed: ['running', 'queued', 'succeeded', 'failed', 'cancelled'],
  running: ['queued', 'succeeded', 'failed', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

const TASK_PREDECESSORS = new Map(TASK_STATES.map((to) => [to, TASK_STATES.filter((from) => TASK_TRANSITIONS[from].includes(to))]));

export function taskPredecessors(to: TaskState): TaskState[] {
  return [...TASK_PREDECESSORS.get(to)!];
}

export function isTerminalTaskState(s: TaskState): boolean {
  return TASK_TRANSITIONS[s].length === 0;
}

/** One try of a task on one node. `lost`: the node went away while it held the attempt. */
export const AttemptState = {
  placed: 'placed',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  timed_out: 'timed_out',
  cancelled: 'cancelled',
  lost: 'lost',
} as const;
export type AttemptState = (typeof AttemptState)[keyof typeof AttemptState];
export const ATTEMPT_STATES = Object.values(AttemptState);

export const ATTEMPT_TRANSITIONS: Readonly<Record<AttemptState, readonly AttemptState[]>> = {
  placed: ['running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'lost'],
  running: ['succeeded', 'failed', 'timed_out', 'cancelled', 'lost'],
  succeeded: [],
  failed: [],
  timed_out: [],
  cancelled: [],
  lost: [],
};

export const ACTIVE_ATTEMPT_STATES: readonly AttemptState[] = ['placed', 'running'];

const ATTEMPT_PREDECESSORS = new Map(ATTEMPT_STATES.map((to) => [to, ATTEMPT_STATES.filter((from) => ATTEMPT_TRANSITIONS[from].includes(to))]));

export function attemptPredecessors(to: AttemptState): AttemptState[] {
  return [...ATTEMPT_PREDECESSORS.get(to)!];
}

export function isTerminalAttemptState(s: AttemptState): boolean {
  return ATTEMPT_TRANSITIONS[s].length === 0;
}
