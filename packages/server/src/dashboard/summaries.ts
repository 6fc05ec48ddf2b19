import type { Labels, NodeProtocol, NodeStatus, NodeSummary, Stats, VersionSkew } from '@steward/protocol';
import type { NodeSummaryRow } from '../store/queries/dashboard.js';
import { fromJson } from '../store/rows.js';

const pct = (used: number, total: number): number | null => (total > 0 ? Math.round((used / total) * 1000) / 10 : null);

export function summaryFromRow(r: NodeSummaryRow): NodeSummary {
  const stats = fromJson<Stats>(r.stats);
  let diskUsed = 0;
  let diskTotal = 0;
  for (const d of stats?.disks ?? []) {
    diskUsed += d.usedBytes;
    diskTotal += d.totalBytes;
  }
  return {
    id: r.id,
    name: r.name,
    status: r.status as NodeStatus,
    connected: r.connection_id !== null,
    protocol: r.protocol as NodeProtocol,
    labels: fromJson<Labels>(r.labels) ?? {},
    hostname: r.hostname ?? '',
    agentVersion: r.agent_version ?? '',
    cpuPercent: stats ? Math.round(stats.cpu.usagePercent * 10) / 10 : null,
    memoryPercent: stats ? pct(stats.memory.usedBytes, stats.memory.totalBytes) : null,
    diskPercent: stats ? pct(diskUsed, diskTotal) : null,
    lastSeenAt: r.last_seen_at,
    versionSkew: fromJson<VersionSkew>(r.version_skew ?? null),
  };
}
