import { Type, type Static } from '@sinclair/typebox';
import { AgentUpgradeEvent } from './agent-upgrades.js';
import { Id, Nullable, Timestamp } from './common.js';
import { CommandProgress, CommandStateSchema, JobCounts, JobStateSchema } from './commands.js';
import { NodeStatusSchema } from './nodes.js';
import { Alert } from './alerts.js';
import { TaskStateSchema } from './tasks.js';
import { ServiceStateSchema } from './services.js';

/** Live events, as sent on `GET /api/v1/events` (SSE `event:` is the `kind`). */
export const NodeStatusEvent = Type.Object({
  kind: Type.Literal('node.status'),
  at: Timestamp,
  nodeId: Id,
  name: Type.String(),
  status: NodeStatusSchema,
  reason: Type.String(),
});

export const NodeChangedEvent = Type.Object({
  kind: Type.Literal('node.changed'),
  at: Timestamp,
  nodeId: Id,
  name: Type.String(),
  change: Type.Union([Type.Literal('enrolled'), Type.Literal('updated'), Type.Literal('deleted'), Type.Literal('revoked'), Type.Literal('inventory_clamped')]),
  /** For `inventory_clamped`: the inventory fields the agent sent past their caps. */
  fields: Type.Optional(Type.Array(Type.String(), { maxItems: 64 })),
});

export const CommandStateEvent = Type.Object({
  kind: Type.Literal('command.state'),
  at: Timestamp,
  commandId: Id,
  nodeId: Id,
  jobId: Nullable(Id),
  type: Type.String(),
  state: CommandStateSchema,
});

/** A running command said how far it is (throttled by its agent; the command keeps the latest). */
export const CommandProgressEvent = Type.Object({
  kind: Type.Literal('command.progress'),
  at: Timestamp,
  commandId: Id,
  nodeId: Id,
  jobId: Nullable(Id),
  type: Type.String(),
  progress: CommandProgress,
});

export const JobStateEvent = Type.Object({
  kind: Type.Literal('job.state'),
  at: Timestamp,
  jobId: Id,
  state: JobStateSchema,
  counts: JobCounts,
});

export const TaskStateEvent = Type.Object({
  kind: Type.Literal('task.state'),
  at: Timestamp,
  taskId: Id,
  state: TaskStateSchema,
  nodeId: Nullable(Id),
  attempt: Type.Integer({ description: 'tries so far' }),
  progress: Nullable(Type.Number()),
  reason: Nullable(Type.String()),
});

/** An alert opened (`alert.fired`), closed (`alert.resolved`) or was acknowledged (`alert.acked`). */
export const AlertFiredEvent = Type.Object({ kind: Type.Literal('alert.fired'), at: Timestamp, alert: Alert });
export const AlertResolvedEvent = Type.Object({ kind: Type.Literal('alert.resolved'), at: Timestamp, alert: Alert });
export const AlertAckedEvent = Type.Object({ kind: Type.Literal('alert.acked'), at: Timestamp, alert: Alert });

/** A supervised service changed state on a node (or its desired state changed: `nodeId` null). */
export const ServiceStateEvent = Type.Object({
  kind: Type.Literal('service.state'),
  at: Timestamp,
  service: Type.String(),
  nodeId: Nullable(Id),
  state: Nullable(ServiceStateSchema),
  version: Nullable(Type.String()),
  revision: Nullable(Type.Integer()),
  reason: Nullable(Type.String()),
});

/** An agent answered a pushed config (`applied` / `rejected`), or a new revision was sent to it (`pending`). */
export const NodeConfigEvent = Type.Object({
  kind: Type.Literal('node.config'),
  at: Timestamp,
  nodeId: Id,
  revision: Type.String(),
  state: Type.Union([Type.Literal('applied'), Type.Literal('rejected'), Type.Literal('pending')]),
  reason: Type.Optional(Type.String()),
});

/** A desired agent configuration document was written or deleted; replicas re-push to the nodes they hold. */
export const AgentConfigChangedEvent = Type.Object({
  kind: Type.Literal('agent-config.changed'),
  at: Timestamp,
  name: Type.String(),
  change: Type.Union([Type.Literal('updated'), Type.Literal('deleted')]),
  version: Nullable(Type.Integer()),
});

/** A plugin on a node was loaded, unloaded or refused (`invalid`, with the reason). */
export const NodePluginEvent = Type.Object({
  kind: Type.Literal('node.plugin'),
  at: Timestamp,
  nodeId: Id,
  plugin: Type.String(),
  change: Type.Union([Type.Literal('loaded'), Type.Literal('unloaded'), Type.Literal('invalid')]),
  version: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
});

export const StewardEvent = Type.Union([
  NodeStatusEvent,
  NodeChangedEvent,
  CommandStateEvent,
  CommandProgressEvent,
  JobStateEvent,
  AlertFiredEvent,
  AlertResolvedEvent,
  AlertAckedEvent,
  TaskStateEvent,
  ServiceStateEvent,
  NodeConfigEvent,
  AgentConfigChangedEvent,
  NodePluginEvent,
  AgentUpgradeEvent,
]);
export type StewardEvent = Static<typeof StewardEvent>;
export type StewardEventKind = StewardEvent['kind'];
