import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from './common.js';

export const DiskUsage = Type.Object({
  mount: Type.String(),
  fs: Type.Optional(Type.String()),
  totalBytes: Type.Number({ minimum: 0 }),
  usedBytes: Type.Number({ minimum: 0 }),
  availableBytes: Type.Number({ minimum: 0 }),
});
export type DiskUsage = Static<typeof DiskUsage>;

export const NetworkCounters = Type.Object({
  iface: Type.String(),
  rxBytes: Type.Number({ minimum: 0 }),
  txBytes: Type.Number({ minimum: 0 }),
});

/** What a heartbeat carries and `stats.get` returns. */
export const Stats = Type.Object({
  collectedAt: Timestamp,
  cpu: Type.Object({ usagePercent: Type.Number({ minimum: 0 }), cores: Type.Integer({ minimum: 0 }) }),
  load: Type.Array(Type.Number(), { minItems: 3, maxItems: 3, description: '1, 5 and 15 minute load averages' }),
  memory: Type.Object({
    totalBytes: Type.Number({ minimum: 0 }),
    availableBytes: Type.Number({ minimum: 0 }),
    usedBytes: Type.Number({ minimum: 0 }),
  }),
  disks: Type.Array(DiskUsage),
  network: Type.Array(NetworkCounters),
  uptimeSeconds: Type.Number({ minimum: 0 }),
  agentUptimeSeconds: Type.Number({ minimum: 0 }),
});
export type Stats = Static<typeof Stats>;

export const CommandTypeInfo = Type.Object({
  type: Type.String(),
  module: Type.String(),
  safeToRerun: Type.Boolean(),
  description: Type.Optional(Type.String()),
  payloadSchema: Type.Optional(Type.Unknown({ description: 'JSON schema of the payload' })),
});
export type CommandTypeInfo = Static<typeof CommandTypeInfo>;

export const Inventory = Type.Object({
  hostname: Type.String({ maxLength: 255 }),
  addresses: Type.Array(Type.String(), { maxItems: 256 }),
  os: Type.Object({
    platform: Type.String(),
    release: Type.String(),
    distro: Type.Optional(Type.String()),
  }),
  arch: Type.String(),
  agentVersion: Type.String(),
  cpuCores: Type.Integer({ minimum: 0 }),
  cpuModel: Type.Optional(Type.String()),
  memoryBytes: Type.Number({ minimum: 0 }),
  disks: Type.Array(DiskUsage, { maxItems: 256 }),
  capabilities: Type.Array(Type.String(), { maxItems: 1024 }),
  modules: Type.Array(Type.String(), { maxItems: 256 }),
  commandTypes: Type.Array(CommandTypeInfo, { maxItems: 1024 }),
});
export type Inventory = Static<typeof Inventory>;
