/**
 * Every state machine of the system, each with its one transition table.
 * Stores apply a transition as `UPDATE … WHERE state IN (allowed predecessors)`,
 * so the tables here are what makes a late or duplicate message harmless.
 */
export const CommandState = {
  /** Matched an approval policy: stored, not sent, until a second operator approves (→ pending). */
  awaiting_approval: 'awaiting_approval',
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
/** The states a table allows moving from into `to` (used for conditional updates: `WHERE state IN …`). */
export function predecessorsIn<S extends string>(table: Readonly<Record<S, readonly S[]>>, to: S): S[] {
  return (Object.keys(table) as S[]).filter((from) => table[from].includes(to));
}

export const COMMAND_STATES = Object.values(CommandState);

export const COMMAND_TRANSITIONS: Readonly<Record<CommandState, readonly CommandState[]>> = {
  // Approved: pending (then dispatched as any other); rejected: cancelled; nobody decided in time: expired.
  awaiting_approval: ['pending', 'cancelled', 'expired'],
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

/** The states a command may be in for a transition to `to` to be allowed. */
export function commandPredecessors(to: CommandState): CommandState[] {
  return predecessorsIn(COMMAND_TRANSITIONS, to);
}

export function isTerminalCommandState(s: CommandState): boolean {
  return COMMAND_TRANSITIONS[s].length === 0;
}

/** States an agent may report as the end of a command. */
export const COMMAND_RESULT_STATES = ['succeeded', 'failed', 'timed_out', 'cancelled'] as const;
export type CommandResultState = (typeof COMMAND_RESULT_STATES)[number];

/**
 * `reconnecting`: the node was online when the control plane stopped and has not connected to
 * the restarted one yet; it turns `online` on its hello, or `offline` once the start-up guard
 * (long enough for any agent's backoff) passes without it. So `online` always means connected.
 */
export const NodeStatus = {
  online: 'online',
  offline: 'offline',
  reconnecting: 'reconnecting',
} as const;
export type NodeStatus = (typeof NodeStatus)[keyof typeof NodeStatus];
export const NODE_STATUSES = Object.values(NodeStatus);

export const NODE_TRANSITIONS: Readonly<Record<NodeStatus, readonly NodeStatus[]>> = {
  online: ['offline', 'reconnecting'],
  offline: ['online'],
  reconnecting: ['online', 'offline'],
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
  return predecessorsIn(JOB_TRANSITIONS, to);
}

/**
 * A monitor check's hysteresis, so one bad probe does not page anyone and one good probe does
 * not close an alert: `ok → failing(n) → firing → recovering(n) → ok`. `unknown` is a check that
 * has not run yet. A fire needs `failuresBeforeFiring` failures in a row, a resolve
 * `successesBeforeResolving` successes in a row; a success while failing or a failure while
 * recovering starts the count again. Staying in a state (failing n → n+1) is not listed.
 */
export const CheckState = {
  unknown: 'unknown',
  ok: 'ok',
  failing: 'failing',
  firing: 'firing',
  recovering: 'recovering',
} as const;
export type CheckState = (typeof CheckState)[keyof typeof CheckState];
export const CHECK_STATES = Object.values(CheckState);

export const CHECK_TRANSITIONS: Readonly<Record<CheckState, readonly CheckState[]>> = {
  unknown: ['ok', 'failing', 'firing'],
  ok: ['failing', 'firing'],
  failing: ['ok', 'firing'],
  firing: ['recovering', 'ok'],
  recovering: ['firing', 'ok'],
};

export interface CheckProgress {
  state: CheckState;
  /** Failures in a row (counts while ok/failing; reset by a success). */
  failures: number;
  /** Successes in a row (counts while firing/recovering; reset by a failure). */
  successes: number;
}

export interface CheckThresholds {
  failuresBeforeFiring: number;
  successesBeforeResolving: number;
}

/** What a check's alert does on a step: `fired` entering firing from a quiet state, `resolved` leaving it for ok. */
export type CheckEdge = 'fired' | 'resolved' | null;

/** One probe result applied to a check's progress; pure, so it is tested as a property. */
export function nextCheckProgress(p: CheckProgress, success: boolean, t: CheckThresholds): { next: CheckProgress; edge: CheckEdge } {
  const alerting = p.state === 'firing' || p.state === 'recovering';
  if (!alerting) {
    if (success) return { next: { state: 'ok', failures: 0, successes: 0 }, edge: null };
    const failures = p.failures + 1;
    if (failures >= t.failuresBeforeFiring) return { next: { state: 'firing', failures, successes: 0 }, edge: 'fired' };
    return { next: { state: 'failing', failures, successes: 0 }, edge: null };
  }
  if (!success) return { next: { state: 'firing', failures: p.failures + 1, successes: 0 }, edge: null };
  const successes = p.successes + 1;
  if (successes >= t.successesBeforeResolving) return { next: { state: 'ok', failures: 0, successes: 0 }, edge: 'resolved' };
  return { next: { state: 'recovering', failures: 0, successes }, edge: null };
}

/** An alert on the control plane: open while firing; a resolved alert is closed for good. */
export const AlertState = {
  firing: 'firing',
  resolved: 'resolved',
} as const;
export type AlertState = (typeof AlertState)[keyof typeof AlertState];
export const ALERT_STATES = Object.values(AlertState);

export const ALERT_TRANSITIONS: Readonly<Record<AlertState, readonly AlertState[]>> = {
  firing: ['resolved'],
  resolved: [],
};

export function alertPredecessors(to: AlertState): AlertState[] {
  return predecessorsIn(ALERT_TRANSITIONS, to);
}

/**
 * One webhook notification. `delivering` is held by one replica under a lease; when the lease
 * runs out (the replica died mid-attempt) another may claim it again.
 */
export const DeliveryState = {
  pending: 'pending',
  delivering: 'delivering',
  succeeded: 'succeeded',
  failed: 'failed',
} as const;
export type DeliveryState = (typeof DeliveryState)[keyof typeof DeliveryState];
export const DELIVERY_STATES = Object.values(DeliveryState);

export const DELIVERY_TRANSITIONS: Readonly<Record<DeliveryState, readonly DeliveryState[]>> = {
  pending: ['delivering'],
  // Back to pending: an attempt failed and another is due later. Delivering again: lease expired.
  delivering: ['pending', 'delivering', 'succeeded', 'failed'],
  succeeded: [],
  failed: [],
};

export function deliveryPredecessors(to: DeliveryState): DeliveryState[] {
  return predecessorsIn(DELIVERY_TRANSITIONS, to);
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

/**
 * A supervised service on one node. `installing` covers download, checksum and unpack;
 * `starting` lasts until the health check passes (or at once without one); `unhealthy` is a
 * running service whose continuous health check failed `failuresBeforeUnhealthy` times in a row
 * (the agent then kills it and the restart policy applies, so `backoff` follows); `backoff` waits
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
  unhealthy: 'unhealthy',
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
  running: ['starting', 'unhealthy', 'backoff', 'stopped', 'fatal', 'killed', 'failed', 'installing'],
  unhealthy: ['backoff', 'stopped', 'fatal', 'killed', 'failed', 'installing', 'starting'],
  backoff: ['starting', 'stopped', 'installing', 'fatal'],
  killed: ['backoff', 'stopped', 'fatal', 'starting', 'installing', 'failed'],
  stopped: ['starting', 'installing', 'stopped'],
  fatal: ['starting', 'installing', 'stopped'],
  failed: ['starting', 'installing', 'stopped'],
};

export function canTransitionService(from: ServiceState, to: ServiceState): boolean {
  return SERVICE_TRANSITIONS[from].includes(to);
}

/** A device of a credential-less seed protocol waiting to become a node. */
export const AdmissionState = {
  pending: 'pending',
  approved: 'approved',
  rejected: 'rejected',
} as const;
export type AdmissionState = (typeof AdmissionState)[keyof typeof AdmissionState];
export const ADMISSION_STATES = Object.values(AdmissionState);

/** A rejected device may be approved later (an operator's mistake); an approved one is a node (delete the node to undo). */
export const ADMISSION_TRANSITIONS: Readonly<Record<AdmissionState, readonly AdmissionState[]>> = {
  pending: ['approved', 'rejected'],
  rejected: ['approved'],
  approved: [],
};

/**
 * A request for approval of a command or a whole job (see approval policies). It is decided
 * once: approved (enough votes of other operators), rejected, or expired past its TTL.
 */
export const ApprovalState = {
  awaiting: 'awaiting',
  approved: 'approved',
  rejected: 'rejected',
  expired: 'expired',
} as const;
export type ApprovalState = (typeof ApprovalState)[keyof typeof ApprovalState];
export const APPROVAL_STATES = Object.values(ApprovalState);

export const APPROVAL_TRANSITIONS: Readonly<Record<ApprovalState, readonly ApprovalState[]>> = {
  awaiting: ['approved', 'rejected', 'expired'],
  approved: [],
  rejected: [],
  expired: [],
};

export function approvalPredecessors(to: ApprovalState): ApprovalState[] {
  return predecessorsIn(APPROVAL_TRANSITIONS, to);
}

/** The wires a node can speak: Steward's own agent link, or a seed system's protocol. */
export const NODE_PROTOCOLS = ['steward', 'retire-cluster', 'bootagent', 'backupx'] as const;
export type NodeProtocol = (typeof NODE_PROTOCOLS)[number];

/**
 * A fleet-wide agent upgrade (docs/upgrades.md): runs batch after batch; pauses by itself when
 * failures pass its threshold (or an operator pauses it); resumed or aborted by an operator.
 */
export const AgentUpgradeState = {
  running: 'running',
  paused: 'paused',
  aborted: 'aborted',
  completed: 'completed',
} as const;
export type AgentUpgradeState = (typeof AgentUpgradeState)[keyof typeof AgentUpgradeState];
export const AGENT_UPGRADE_STATES = Object.values(AgentUpgradeState);

export const AGENT_UPGRADE_TRANSITIONS: Readonly<Record<AgentUpgradeState, readonly AgentUpgradeState[]>> = {
  running: ['paused', 'aborted', 'completed'],
  paused: ['running', 'aborted'],
  aborted: [],
  completed: [],
};

export function agentUpgradePredecessors(to: AgentUpgradeState): AgentUpgradeState[] {
  return predecessorsIn(AGENT_UPGRADE_TRANSITIONS, to);
}

/** One node of an agent upgrade. `skipped`: the rollout was aborted before the node's turn. */
export const AgentUpgradeNodeState = {
  pending: 'pending',
  upgrading: 'upgrading',
  upgraded: 'upgraded',
  rolled_back: 'rolled_back',
  failed: 'failed',
  skipped: 'skipped',
} as const;
export type AgentUpgradeNodeState = (typeof AgentUpgradeNodeState)[keyof typeof AgentUpgradeNodeState];
export const AGENT_UPGRADE_NODE_STATES = Object.values(AgentUpgradeNodeState);

export const AGENT_UPGRADE_NODE_TRANSITIONS: Readonly<Record<AgentUpgradeNodeState, readonly AgentUpgradeNodeState[]>> = {
  pending: ['upgrading', 'failed', 'skipped'],
  upgrading: ['upgraded', 'rolled_back', 'failed'],
  upgraded: [],
  rolled_back: [],
  failed: [],
  skipped: [],
};

export function agentUpgradeNodePredecessors(to: AgentUpgradeNodeState): AgentUpgradeNodeState[] {
  return predecessorsIn(AGENT_UPGRADE_NODE_TRANSITIONS, to);
}
