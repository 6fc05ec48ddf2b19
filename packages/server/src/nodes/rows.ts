import type { Inventory, Labels, Node, NodeProtocol, NodeStatus, Stats, VersionSkew } from '@steward/protocol';
import { EMPTY_INVENTORY, fromJson } from '../store/rows.js';
import type { NodesTable } from '../store/schema.js';

export function nodeFromRow(r: NodesTable): Node {
  const inv = fromJson<Inventory>(r.inventory) ?? EMPTY_INVENTORY;
  return {
    id: r.id,
    name: r.name,
    status: r.status as NodeStatus,
    connected: r.connection_id !== null,
    protocol: (r.protocol ?? 'steward') as NodeProtocol,
    labels: fromJson<Labels>(r.labels) ?? {},
    hostname: inv.hostname,
    addresses: inv.addresses,
    os: inv.os,
    arch: inv.arch,
    agentVersion: inv.agentVersion,
    cpuCores: inv.cpuCores,
    memoryBytes: inv.memoryBytes,
    disks: inv.disks,
    capabilities: inv.capabilities,
    modules: inv.modules,
    commandTypes: inv.commandTypes,
    stats: fromJson<Stats>(r.stats),
    heartbeatIntervalMs: r.heartbeat_interval_ms,
    lastSeenAt: r.last_seen_at,
    statusChangedAt: r.status_changed_at,
    createdAt: r.created_at,
    revokedAt: r.revoked_at ?? null,
    versionSkew: fromJson<VersionSkew>(r.version_skew ?? null),
  };
}
