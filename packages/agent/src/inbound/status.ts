import { probeProcess } from '../lib/process-probe.js';
import { getStatsCollector } from '../system/stats.js';
import type { MediastackStatus } from './types.js';

const round = (n: number, places: number) => Math.round(n * 10 ** places) / 10 ** places;

/**
 * The node status in MediaStack's words. `cpu_load` is the busy fraction of all cores (0–1),
 * `disk_usage_percent` that of the fullest mounted filesystem (used / (used + available), as
 * df shows it), and a daemon is `running` when a process of that name (not a helper left
 * behind, such as an nginx worker without its master) exists.
 */
export async function mediastackStatus(): Promise<MediastackStatus> {
  const [stats, nginx, ftpd] = await Promise.all([
    getStatsCollector().collect(),
    probeProcess({ name: 'nginx' }),
    probeProcess({ name: 'pure-ftpd' }),
  ]);
  const usage = stats.disks.map((d) => (d.usedBytes + d.availableBytes > 0 ? (100 * d.usedBytes) / (d.usedBytes + d.availableBytes) : 0));
  return {
    cpu_load: round(stats.cpu.usagePercent / 100, 3),
    disk_usage_percent: round(Math.max(0, ...usage), 1),
    nginx_status: nginx.ok ? 'running' : 'stopped',
    pureftpd_status: ftpd.ok ? 'running' : 'stopped',
  };
}
