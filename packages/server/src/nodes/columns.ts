import type { Node } from '@steward/protocol';
import { iso, labelText, type Column } from '../http/listing.js';

const pct = (used: number, total: number): string => (total > 0 ? ((used / total) * 100).toFixed(1) : '');

/** Columns of the plain-text and CSV node listing (`?format=text|csv`). */
export const NODE_COLUMNS: Column<Node>[] = [
  { header: 'id', value: (n) => n.id },
  { header: 'name', value: (n) => n.name },
  { header: 'status', value: (n) => n.status },
  { header: 'protocol', value: (n) => n.protocol },
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

