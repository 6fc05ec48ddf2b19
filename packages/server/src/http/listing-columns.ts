import type { Command, Node } from '@steward/protocol';
import { iso, labelText, type Column } from './listing.js';

const pct = (used: number, total: number): string => (total > 0 ? ((used / total) * 100).toFixed(1) : '');

export const NODE_COLUMNS: Column<Node>[] = [
  { header: 'id', value: (n) => n.id },
  { header: 'name', value: (n) => n.name },
  { header: 'status', value: (n) => n.status },
  { header: 'labels', value: (n) => labelText(n.labels) },
  { header: 'cpu_percent', value: (n) => (n.stats ? n.stats.cpu.usagePercent.toFixed(1) : '') },
  { header: 'memory_percent', value: (n) => (n.stats ? pct(n.stats.memory.usedBytes, n.stats.memory.totalBytes) : '') },
  {
    header: 'disk_percent',
    value: (n) => {
      const disks = n.stats?.disks ?? n.disks;
      return pct(disks.reduce((s, d) => s + d.usedBytes, 0), disks.reduce((s, d) => s + d.totalBytes, 0));
    },
  },
  { header: 'agent_version', value: (n) => n.agentVersion },
  { header: 'hostname', value: (n) => n.hostname },
  { header: 'last_seen', value: (n) => iso(n.lastSeenAt) },
];

export const COMMAND_COLUMNS: Column<Command>[] = [
  { header: 'id', value: (c) => c.id },
  { header: 'node_id', value: (c) => c.nodeId },
  { header: 'job_id', value: (c) => c.jobId ?? '' },
  { header: 'type', value: (c) => c.type },
  { header: 'state', value: (c) => c.state },
  { header: 'created', value: (c) => iso(c.createdAt) },
  { header: 'finished', value: (c) => iso(c.finishedAt) },
  { header: 'error', value: (c) => c.error?.message ?? '' },
];
