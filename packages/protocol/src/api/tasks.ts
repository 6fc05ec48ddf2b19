import { Type, type Static } from '@sinclair/typebox';
import { ATTEMPT_STATES, TASK_STATES } from '../states.js';
import { CommandError } from './commands.js';
import { Id, ListQuery, Nullable, Timestamp } from './common.js';

export const TASK_PRIORITIES = ['low', 'normal', 'high', 'critical'] as const;
export type TaskPriority = (typeof TASK_PRIORITIES)[number];
/** Higher runs first; aging adds one level per aging interval waited. */
export const PRIORITY_RANK: Readonly<Record<TaskPriority, number>> = { low: 0, normal: 1, high: 2, critical: 3 };

export const TASK_STRATEGIES = ['spread', 'binpack'] as const;
export type TaskStrategy = (typeof TASK_STRATEGIES)[number];

export const DEFAULT_TASK_TIMEOUT_MS = 600_000;
export const DEFAULT_TASK_RETRY_DELAY_MS = 1000;
/** Exponential backoff between tries stops growing here. */
export const MAX_TASK_RETRY_DELAY_MS = 300_000;

export const TaskStateSchema = Type.Union(TASK_STATES.map((s) => Type.Literal(s)));
export const AttemptStateSchema = Type.Union(ATTEMPT_STATES.map((s) => Type.Literal(s)));
export const TaskPrioritySchema = Type.Union(TASK_PRIORITIES.map((s) => Type.Literal(s)));
export const TaskStrategySchema = Type.Union(TASK_STRATEGIES.map((s) => Type.Literal(s)));
export const TaskKindSchema = Type.Union([Type.Literal('exec'), Type.Literal('script')]);
export type TaskKind = Static<typeof TaskKindSchema>;

const MAX_ARG = 128 * 1024;
const common = {
  args: Type.Optional(Type.Array(Type.String({ maxLength: MAX_ARG }), { maxItems: 4096 })),
  cwd: Type.Optional(Type.String({ pattern: '^/', maxLength: 4096, description: 'absolute working directory on the node' })),
  // Values are secret (writeOnly): shown redacted, kept only while needed (see docs/security.md).
  env: Type.Optional(
    Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), Type.String({ maxLength: MAX_ARG, writeOnly: true }), {
      additionalProperties: false,
      maxProperties: 256,
    }),
  ),
};

/** `kind: exec`: a program and its argv, no shell. */
export const ExecTaskPayload = Type.Object(
  { command: Type.String({ minLength: 1, maxLength: 4096, description: 'program (PATH is searched)' }), ...common },
  { additionalProperties: false },
);
export type ExecTaskPayload = Static<typeof ExecTaskPayload>;

/** `kind: script`: a script body run by an interpreter found on the node's PATH. */
export const ScriptTaskPayload = Type.Object(
  {
    interpreter: Type.String({ pattern: '^[A-Za-z0-9._+-]{1,100}$', description: 'python3, node, bash, sh, …' }),
    script: Type.String({ minLength: 1, maxLength: 1024 * 1024 }),
    ...common,
  },
  { additionalProperties: false },
);
export type ScriptTaskPayload = Static<typeof ScriptTaskPayload>;

export const TaskRequirements = Type.Object(
  {
    cpuCores: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'the node has at least this many cores' })),
    memoryMB: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'the node has at least this much memory' })),
    diskMB: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'free disk on the node (largest mount)' })),
    platform: Type.Optional(Type.String({ pattern: '^[a-z0-9]{1,30}$', description: 'linux, darwin, android, …' })),
    arch: Type.Optional(Type.String({ pattern: '^[a-z0-9_]{1,30}$', description: 'x64, arm64, arm, …' })),
    selector: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'label selector k=v,k2!=v2,k3,!k4' })),
    capabilities: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 64, uniqueItems: true })),
  },
  { additionalProperties: false },
);
export type TaskRequirements = Static<typeof TaskRequirements>;

export const TaskCreate = Type.Object(
  {
    kind: TaskKindSchema,
    payload: Type.Record(Type.String(), Type.Unknown(), { description: 'ExecTaskPayload or ScriptTaskPayload, by kind' }),
    requirements: Type.Optional(TaskRequirements),
    priority: Type.Optional(TaskPrioritySchema),
    strategy: Type.Optional(TaskStrategySchema),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 7 * 86_400_000 })),
    maxRetries: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    retryDelayMs: Type.Optional(Type.Integer({ minimum: 10, maximum: MAX_TASK_RETRY_DELAY_MS, description: 'first backoff; doubles each try' })),
    retryOnNodeLoss: Type.Optional(Type.Boolean()),
    requestId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'caller-chosen idempotency key' })),
  },
  { additionalProperties: false },
);
export type TaskCreate = Static<typeof TaskCreate>;

export const TaskAttempt = Type.Object({
  id: Id,
  taskId: Id,
  number: Type.Integer({ minimum: 1 }),
  nodeId: Id,
  commandId: Id,
  state: AttemptStateSchema,
  placedAt: Timestamp,
  startedAt: Nullable(Timestamp),
  finishedAt: Nullable(Timestamp),
  exitCode: Nullable(Type.Integer()),
  signal: Nullable(Type.String()),
  cpuMs: Nullable(Type.Number()),
  peakMemoryBytes: Nullable(Type.Number()),
  progress: Nullable(Type.Number()),
  outputBytes: Type.Integer(),
  outputTruncated: Type.Boolean(),
  error: Nullable(CommandError),
});
export type TaskAttempt = Static<typeof TaskAttempt>;

export const Task = Type.Object(
  {
    id: Id,
    requestId: Nullable(Type.String()),
    kind: TaskKindSchema,
    payload: Type.Unknown(),
    requirements: TaskRequirements,
    priority: TaskPrioritySchema,
    strategy: Type.Unsafe<TaskStrategy | null>({ type: 'string', enum: [...TASK_STRATEGIES], nullable: true }),
    timeoutMs: Type.Integer(),
    maxRetries: Type.Integer(),
    retryDelayMs: Type.Integer(),
    retryOnNodeLoss: Type.Boolean(),
    state: TaskStateSchema,
    reason: Nullable(Type.String({ description: 'why a queued task is not placed yet' })),
    nodeId: Nullable(Id),
    attempts: Type.Integer({ description: 'tries so far' }),
    progress: Nullable(Type.Number()),
    exitCode: Nullable(Type.Integer()),
    error: Nullable(CommandError),
    retryAt: Nullable(Timestamp),
    createdAt: Timestamp,
    startedAt: Nullable(Timestamp),
    finishedAt: Nullable(Timestamp),
  },
  { description: 'compute work placed by the scheduler' },
);
export type Task = Static<typeof Task>;

export const TaskDetail = Type.Composite([Task, Type.Object({ attemptList: Type.Array(TaskAttempt) })]);
export type TaskDetail = Static<typeof TaskDetail>;

export const TaskListQuery = Type.Object({
  state: Type.Optional(TaskStateSchema),
  node: Type.Optional(Type.String({ maxLength: 200 })),
  priority: Type.Optional(TaskPrioritySchema),
  ...ListQuery,
});
export type TaskListQuery = Static<typeof TaskListQuery>;

export const TaskOutputStream = Type.Union([Type.Literal('stdout'), Type.Literal('stderr')]);
export type TaskOutputStream = Static<typeof TaskOutputStream>;

/** One stored piece of a task's output (SSE `output` event on `/api/v1/tasks/:id/output`). */
export const TaskOutputChunk = Type.Object({
  attempt: Type.Integer({ minimum: 1 }),
  seq: Type.Integer({ minimum: 0 }),
  stream: TaskOutputStream,
  data: Type.String(),
  at: Timestamp,
});
export type TaskOutputChunk = Static<typeof TaskOutputChunk>;

export const SchedulerState = Type.Object({
  paused: Type.Boolean(),
  leader: Nullable(Type.String({ description: 'replica holding the scheduler lease' })),
  replica: Type.String({ description: 'the replica that answered' }),
  leaseExpiresAt: Nullable(Timestamp),
  queued: Type.Integer(),
  active: Type.Integer({ description: 'attempts placed or running' }),
});
export type SchedulerState = Static<typeof SchedulerState>;

export const SchedulerPatch = Type.Object({ paused: Type.Boolean() }, { additionalProperties: false });
export type SchedulerPatch = Static<typeof SchedulerPatch>;

// ---- the agent's `task` module on the wire ----

/** Payload of the `task.run` command the scheduler sends for an attempt. */
export const TaskRunPayload = Type.Object(
  {
    taskId: Id,
    attemptId: Id,
    kind: TaskKindSchema,
    command: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    interpreter: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._+-]{1,100}$' })),
    script: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 * 1024 })),
    ...common,
    timeoutMs: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);
export type TaskRunPayload = Static<typeof TaskRunPayload>;

/** What `task.run` returns (also inside the result of a failed run). */
export const TaskRunResult = Type.Object({
  exitCode: Nullable(Type.Integer()),
  signal: Nullable(Type.String()),
  durationMs: Type.Number(),
  cpuMs: Nullable(Type.Number()),
  peakMemoryBytes: Nullable(Type.Number()),
  outputBytes: Type.Integer(),
  truncated: Type.Boolean(),
  /** The last bytes of stdout+stderr, in case streamed chunks were lost while disconnected. */
  tail: Type.String(),
});
export type TaskRunResult = Static<typeof TaskRunResult>;

/** The task module's heartbeat report: capacity and what it runs right now. */
export const TaskModuleReport = Type.Object({
  slots: Type.Integer({ minimum: 0 }),
  running: Type.Array(Type.Object({ commandId: Id, attemptId: Id, taskId: Id }), { maxItems: 10_000 }),
  /** 1-minute load average divided by cores (0 = idle, 1 = every core busy). */
  load: Type.Number({ minimum: 0 }),
  /** Free bytes where tasks run (or the configured `resources.diskBytes`). */
  diskBytes: Type.Number({ minimum: 0 }),
});
export type TaskModuleReport = Static<typeof TaskModuleReport>;

export const TaskOutputEventData = Type.Object({
  taskId: Id,
  attemptId: Id,
  seq: Type.Integer({ minimum: 0 }),
  stream: TaskOutputStream,
  data: Type.String({ maxLength: 256 * 1024 }),
  at: Timestamp,
});
export type TaskOutputEventData = Static<typeof TaskOutputEventData>;

export const TaskProgressEventData = Type.Object({
  taskId: Id,
  attemptId: Id,
  percent: Type.Number({ minimum: 0, maximum: 100 }),
  at: Timestamp,
});
export type TaskProgressEventData = Static<typeof TaskProgressEventData>;
