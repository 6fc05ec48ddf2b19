import { Type, type Static } from '@sinclair/typebox';
import { COMMAND_RESULT_STATES, COMMAND_STATES } from '../states.js';
import { Id, ListQuery, Nullable, Timestamp } from './common.js';
import { ListingFormatQuery } from './listing.js';
import { COMMAND_TYPE_PATTERN } from '../patterns.js';

export { COMMAND_TYPE_PATTERN };
export const CommandStateSchema = Type.Union(COMMAND_STATES.map((s) => Type.Literal(s)));
export const CommandResultStateSchema = Type.Union(COMMAND_RESULT_STATES.map((s) => Type.Literal(s)));

export const DEFAULT_COMMAND_TTL_MS = 3_600_000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 600_000;

export const CommandError = Type.Object({
  code: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Unknown()),
});
export type CommandError = Static<typeof CommandError>;

const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

/**
 * How far a running command is, as its agent last said: best effort (sent only while
 * connected, at most a few times a second); the command keeps the latest, also after it ended.
 */
export const CommandProgress = Type.Object(
  {
    phase: Type.String({ pattern: '^[a-z][a-z0-9_-]*$', maxLength: 40, description: 'what it is doing now: scanning, archiving, uploading, downloading, extracting…' }),
    unit: Type.Union([Type.Literal('bytes'), Type.Literal('items')]),
    done: Count,
    // A union, not Nullable: agents' messages are checked with the compiler, which needs real kinds.
    total: Type.Union([Count, Type.Null()]),
    filesDone: Type.Optional(Count),
    filesTotal: Type.Optional(Count),
    at: Timestamp,
  },
  { additionalProperties: false, description: 'done out of total (null: not known yet) in this phase' },
);
export type CommandProgress = Static<typeof CommandProgress>;

const commonCreate = {
  type: Type.String({ pattern: COMMAND_TYPE_PATTERN, maxLength: 100, description: 'e.g. exec.run, fs.mkdir' }),
  payload: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { default: {} })),
  requestId: Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, description: 'caller-chosen idempotency key' }),
  ),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 7 * 86_400_000 })),
  ttlMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 30 * 86_400_000 })),
};

export const CommandCreate = Type.Object(
  { node: Type.String({ minLength: 1, maxLength: 200, description: 'node id or name' }), ...commonCreate },
  { additionalProperties: false },
);
export type CommandCreate = Static<typeof CommandCreate>;

export const Command = Type.Object(
  {
    id: Id,
    requestId: Nullable(Type.String()),
    nodeId: Id,
    jobId: Nullable(Id),
    type: Type.String(),
    payload: Type.Unknown(),
    state: CommandStateSchema,
    timeoutMs: Type.Integer(),
    ttlMs: Type.Integer(),
    expiresAt: Nullable(Timestamp),
    createdAt: Timestamp,
    dispatchedAt: Nullable(Timestamp),
    startedAt: Nullable(Timestamp),
    finishedAt: Nullable(Timestamp),
    deliveries: Type.Integer({ description: 'how many times it was sent to the agent' }),
    result: Type.Unknown({ description: 'what the handler returned, null until it ends' }),
    error: Nullable(CommandError),
    progress: Nullable(CommandProgress),
  },
  { description: 'a typed request to one node' },
);
export type Command = Static<typeof Command>;

export const CommandListQuery = Type.Object({
  node: Type.Optional(Type.String({ maxLength: 200 })),
  state: Type.Optional(CommandStateSchema),
  type: Type.Optional(Type.String({ maxLength: 100 })),
  job: Type.Optional(Type.String({ maxLength: 200 })),
  ...ListQuery,
  ...ListingFormatQuery,
});
export type CommandListQuery = Static<typeof CommandListQuery>;

export const WaitQuery = Type.Object({
  wait: Type.Optional(Type.Number({ minimum: 0, maximum: 300, description: 'seconds to hold the request until it ends' })),
});
export type WaitQuery = Static<typeof WaitQuery>;

export const JobTarget = Type.Union([
  Type.Object({ nodes: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 100_000 }) }, { additionalProperties: false }),
  Type.Object({ selector: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false }),
  Type.Object({ all: Type.Literal(true) }, { additionalProperties: false }),
]);
export type JobTarget = Static<typeof JobTarget>;

export const JobCreate = Type.Object(
  {
    target: JobTarget,
    ...commonCreate,
    batchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'at most this many nodes at a time' })),
  },
  { additionalProperties: false },
);
export type JobCreate = Static<typeof JobCreate>;

export const JobCounts = Type.Record(Type.String(), Type.Integer());

export const JobStateSchema = Type.Union(['running', 'succeeded', 'failed', 'cancelled'].map((s) => Type.Literal(s)));

export const Job = Type.Object(
  {
    id: Id,
    requestId: Nullable(Type.String()),
    type: Type.String(),
    payload: Type.Unknown(),
    target: Type.Unknown(),
    batchSize: Nullable(Type.Integer()),
    state: JobStateSchema,
    total: Type.Integer(),
    counts: JobCounts,
    createdAt: Timestamp,
    finishedAt: Nullable(Timestamp),
  },
  { description: 'one command fanned out to many nodes' },
);
export type Job = Static<typeof Job>;

/** Commands in one page of a job when the caller names no `limit` (a job that size comes whole). */
export const JOB_PAGE_DEFAULT = 1000;
export const JOB_PAGE_MAX = 10_000;
/** Commands in `POST /api/v1/jobs`'s answer: the job is a summary there; GET pages on from `next`. */
export const JOB_CREATED_PAGE = 100;

/**
 * A page of a job's commands, in a stable order (by command id). `next` is the cursor of the
 * page after this one (pass it as `after`), null on the last page.
 */
export const JobDetail = Type.Composite([
  Job,
  Type.Object({
    commands: Type.Array(Command, { description: 'one page of the job\'s commands, ordered by id; `total` says how many there are' }),
    next: Nullable(Type.String({ description: 'cursor for the next page (`?after=`); null when this page is the last' })),
  }),
]);
export type JobDetail = Static<typeof JobDetail>;

export const JobPageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: JOB_PAGE_MAX, description: `commands in this page (default ${JOB_PAGE_DEFAULT})` })),
  after: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'cursor: the `next` of the page before' })),
});
export type JobPageQuery = Static<typeof JobPageQuery>;

export const JobGetQuery = Type.Composite([WaitQuery, JobPageQuery]);
export type JobGetQuery = Static<typeof JobGetQuery>;

export const JobListQuery = Type.Object({
  state: Type.Optional(JobStateSchema),
  ...ListQuery,
});
