import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from './common.js';

/** One heartbeat's figures, as kept for the node charts (the last hour by default). */
export const NodeSample = Type.Object({
  at: Timestamp,
  cpuPercent: Type.Number(),
  memoryUsedBytes: Type.Number(),
  memoryTotalBytes: Type.Number(),
  diskUsedBytes: Type.Number({ description: 'summed over the mounts the agent reports' }),
  diskTotalBytes: Type.Number(),
  load1: Type.Number(),
  load5: Type.Number(),
  load15: Type.Number(),
});
export type NodeSample = Static<typeof NodeSample>;

export const NodeSamplesQuery = Type.Object({
  since: Type.Optional(Type.Integer({ minimum: 0, description: 'only samples taken after this time (ms); default: an hour ago' })),
});
export type NodeSamplesQuery = Static<typeof NodeSamplesQuery>;

export const NodeSamples = Type.Object({
  items: Type.Array(NodeSample, { description: 'oldest first' }),
  retentionMs: Type.Integer({ description: 'how far back the control plane keeps samples' }),
});
export type NodeSamples = Static<typeof NodeSamples>;
