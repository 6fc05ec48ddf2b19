import { Type, type Static } from '@sinclair/typebox';
import { Id, ListQuery, Nullable, Timestamp } from './common.js';
import { Command, Job } from './commands.js';
import { Sha256 } from './artifacts.js';

export const BACKUP_DESTINATIONS = ['node', 'control-plane'] as const;
export type BackupDestination = (typeof BACKUP_DESTINATIONS)[number];
export const BackupDestinationSchema = Type.Union(BACKUP_DESTINATIONS.map((d) => Type.Literal(d)));

const NodeRef = Type.String({ minLength: 1, maxLength: 200, description: 'node id or name' });
const Selector = Type.String({ minLength: 1, maxLength: 2000, description: 'label selector, e.g. role=web,env!=dev' });
const SourcePath = Type.String({ minLength: 1, maxLength: 4096, pattern: '^/', description: 'absolute directory on the node, inside its backup roots' });
const Exclude = Type.Array(Type.String({ minLength: 1, maxLength: 500 }), { maxItems: 200, description: 'glob patterns: names (*.log) or paths from the source (cache/**)' });

export const Backup = Type.Object(
  {
    id: Id,
    nodeId: Id,
    commandId: Nullable(Id),
    scheduleId: Nullable(Id),
    source: Type.String(),
    exclude: Type.Array(Type.String()),
    destination: BackupDestinationSchema,
    archiveSha256: Sha256,
    archiveSize: Type.Integer({ minimum: 0 }),
    manifestSha256: Nullable(Sha256),
    fileCount: Type.Integer({ minimum: 0 }),
    totalBytes: Type.Integer({ minimum: 0 }),
    createdAt: Timestamp,
  },
  { description: 'a finished backup of one directory on one node' },
);
export type Backup = Static<typeof Backup>;

export const BackupListQuery = Type.Object({
  node: Type.Optional(NodeRef),
  schedule: Type.Optional(Type.String({ maxLength: 200 })),
  destination: Type.Optional(BackupDestinationSchema),
  ...ListQuery,
});
export type BackupListQuery = Static<typeof BackupListQuery>;

const runFields = {
  source: SourcePath,
  exclude: Type.Optional(Exclude),
  destination: Type.Optional(BackupDestinationSchema),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 7 * 86_400_000 })),
};

export const BackupRun = Type.Union(
  [
    Type.Object({ node: NodeRef, ...runFields }, { additionalProperties: false }),
    Type.Object({ selector: Selector, ...runFields }, { additionalProperties: false }),
  ],
  { description: 'back up `source` on one node, or on every node matching `selector` (a job); destination defaults to control-plane' },
);
export type BackupRun = Static<typeof BackupRun>;

export const BackupRunStarted = Type.Object({
  command: Nullable(Command),
  job: Nullable(Job),
});
export type BackupRunStarted = Static<typeof BackupRunStarted>;

export const BackupRestore = Type.Object(
  {
    node: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "node id or name; default the backup's own node (another node only for control-plane backups)" })),
    target: Type.String({ minLength: 1, maxLength: 4096, pattern: '^/', description: 'a new or empty directory on the node, inside its backup roots' }),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 7 * 86_400_000 })),
    keepSpecialBits: Type.Optional(
      Type.Boolean({ description: 'restore setuid, setgid and sticky bits as backed up (default: masked to permission bits, since restored files belong to the target\'s owner)' }),
    ),
  },
  { additionalProperties: false },
);
export type BackupRestore = Static<typeof BackupRestore>;

export const BackupVerify = Type.Object(
  {
    node: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "node that checks it; default the backup's own node" })),
  },
  { additionalProperties: false },
);
export type BackupVerify = Static<typeof BackupVerify>;

export const BackupScheduleTarget = Type.Union([
  Type.Object({ node: NodeRef }, { additionalProperties: false }),
  Type.Object({ selector: Selector }, { additionalProperties: false }),
]);
export type BackupScheduleTarget = Static<typeof BackupScheduleTarget>;

export const BackupScheduleCreate = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    cron: Type.String({ minLength: 1, maxLength: 200, description: 'cron expression, 5 or 6 fields (seconds first when 6), e.g. "0 3 * * *"' }),
    timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'IANA time zone for the cron expression; default UTC' })),
    target: BackupScheduleTarget,
    source: SourcePath,
    exclude: Type.Optional(Exclude),
    destination: Type.Optional(BackupDestinationSchema),
    keepLast: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'keep the newest N backups per node' })),
    keepDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 36_500, description: 'keep backups younger than N days' })),
  },
  { additionalProperties: false },
);
export type BackupScheduleCreate = Static<typeof BackupScheduleCreate>;

export const BackupSchedule = Type.Object({
  id: Id,
  name: Nullable(Type.String()),
  cron: Type.String(),
  timezone: Type.String(),
  target: BackupScheduleTarget,
  source: Type.String(),
  exclude: Type.Array(Type.String()),
  destination: BackupDestinationSchema,
  keepLast: Nullable(Type.Integer()),
  keepDays: Nullable(Type.Integer()),
  nextRunAt: Timestamp,
  lastRunAt: Nullable(Timestamp),
  createdAt: Timestamp,
});
export type BackupSchedule = Static<typeof BackupSchedule>;

/**
 * What the agent's `backup.run` returns (the part the control plane records). Checked with the
 * TypeBox compiler, which cannot check `Nullable`, so nulls are plain unions here.
 */
export const BackupRunResult = Type.Object({
  backupId: Type.String({ minLength: 1, maxLength: 200 }),
  nodeId: Type.String(),
  source: Type.String(),
  exclude: Type.Array(Type.String()),
  destination: BackupDestinationSchema,
  scheduleId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
  archiveSha256: Sha256,
  archiveSize: Type.Integer({ minimum: 0 }),
  manifestSha256: Type.Union([Sha256, Type.Null()]),
  fileCount: Type.Integer({ minimum: 0 }),
  totalBytes: Type.Integer({ minimum: 0 }),
});
export type BackupRunResult = Static<typeof BackupRunResult>;
