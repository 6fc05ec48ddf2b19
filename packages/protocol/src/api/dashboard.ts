import { Type, type Static } from '@sinclair/typebox';
import { Id, LabelsSchema, Nullable, Timestamp } from './common.js';
import { NodeProtocolSchema } from './admissions.js';
import { NodeStatusSchema, VersionSkew } from './nodes.js';

/**
 * One row of the dashboard's nodes table: a few hundred bytes instead of a whole node (whose
 * command catalog with payload schemas is tens of kilobytes), so 5,000 rows load at once.
 */
export const NodeSummary = Type.Object({
  id: Id,
  name: Type.String(),
  status: NodeStatusSchema,
  connected: Type.Boolean(),
  protocol: NodeProtocolSchema,
  labels: LabelsSchema,
  hostname: Type.String(),
  agentVersion: Type.String(),
  cpuPercent: Nullable(Type.Number()),
  memoryPercent: Nullable(Type.Number()),
  diskPercent: Nullable(Type.Number({ description: 'used over total, summed over mounts' })),
  lastSeenAt: Nullable(Timestamp),
  versionSkew: Type.Optional(Nullable(VersionSkew)),
});
export type NodeSummary = Static<typeof NodeSummary>;

/** The overview's figures, counted in the store (cheap: no rows are sent). */
export const DashboardSummary = Type.Object({
  nodes: Type.Object({ online: Type.Integer(), offline: Type.Integer(), reconnecting: Type.Integer({ description: 'online before a control-plane restart, not back yet' }) }),
  commands: Type.Object({ pending: Type.Integer(), dispatched: Type.Integer(), running: Type.Integer() }),
  jobs: Type.Object({ running: Type.Integer() }),
});
export type DashboardSummary = Static<typeof DashboardSummary>;
