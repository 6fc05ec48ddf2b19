import { readFile, stat, statfs } from 'node:fs/promises';
import os from 'node:os';
import { join, parse as parsePath } from 'node:path';
import type { StatsFs } from 'node:fs';
import type { DiskUsage, Stats } from '@steward/protocol';

/** Filesystems that hold no user data; `overlay` only counts as the container's `/`. */
const PSEUDO_FS = new Set([
  'autofs', 'binfmt_misc', 'bpf', 'cgroup', 'cgroup2', 'configfs', 'debugfs', 'devfs', 'devpts', 'devtmpfs',
  'efivarfs', 'fusectl', 'hugetlbfs', 'mqueue', 'nsfs', 'overlay', 'proc', 'pstore', 'ramfs', 'rpc_pipefs',
  'securityfs', 'selinuxfs', 'squashfs', 'sysfs', 'tmpfs', 'tracefs', 'nfsd', 'fuse.lxcfs', 'fuse.gvfsd-fuse',
  'fuse.portal',
]);

export interface StatsCollectorOptions {
  /** Where `meminfo`, `mounts` and `net/dev` are read from; tests point it at fixtures. */
  procDir?: string;
  /** A statfs that takes longer (a dead NFS server) is skipped instead of stalling the heartbeat. */
  statfsTimeoutMs?: number;
  /** CPU samples closer together than this reuse the older baseline, so a stats.get right after a heartbeat is not noise. */
  minCpuWindowMs?: number;
}

interface CpuSample {
  at: number;
  idle: number;
  total: number;
}

function sampleCpu(): CpuSample {
  let idle = 0;
  let total = 0;
  for (const { times } of os.cpus()) {
    idle += times.idle;
    total += times.user + times.nice + times.sys + times.irq + times.idle;
  }
  return { at: Date.now(), idle, total };
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/** /proc/mounts escapes space, tab, newline and backslash as octal. */
function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

function timeout(ms: number): Promise<'timeout'> {
  return new Promise((resolve) => setTimeout(resolve, ms, 'timeout').unref());
}

export class StatsCollector {
  private readonly procDir: string;
  private readonly statfsTimeoutMs: number;
  private readonly minCpuWindowMs: number;
  private baseline: CpuSample = sampleCpu();
  private lastUsage = 0;
  /** Outstanding probes are shared, never repeated, so a hung mount cannot eat the libuv thread pool. */
  private readonly inflight = new Map<string, Promise<StatsFs | null>>();

  constructor(opts: StatsCollectorOptions = {}) {
    this.procDir = opts.procDir ?? '/proc';
    this.statfsTimeoutMs = opts.statfsTimeoutMs ?? 2000;
    this.minCpuWindowMs = opts.minCpuWindowMs ?? 1000;
  }

  async collect(): Promise<Stats> {
    const [memory, disks, network] = await Promise.all([this.memory(), this.disks(), this.network()]);
    const load = os.loadavg();
    return {
      collectedAt: Date.now(),
      cpu: { usagePercent: this.cpuUsage(), cores: os.availableParallelism() },
      load: [load[0] ?? 0, load[1] ?? 0, load[2] ?? 0],
      memory,
      disks,
      network,
      uptimeSeconds: Math.max(0, Math.floor(os.uptime())),
      agentUptimeSeconds: Math.floor(process.uptime()),
    };
  }

  private cpuUsage(): number {
    const now = sampleCpu();
    const total = now.total - this.baseline.total;
    const idle = now.idle - this.baseline.idle;
    if (total > 0) this.lastUsage = Math.round(Math.min(100, Math.max(0, 100 * (1 - idle / total))) * 10) / 10;
    if (now.at - this.baseline.at >= this.minCpuWindowMs) this.baseline = now;
    return this.lastUsage;
  }

  async memory(): Promise<Stats['memory']> {
    const text = await readText(join(this.procDir, 'meminfo'));
    const kb = (key: string) => {
      const m = text?.match(new RegExp(`^${key}:\\s+(\\d+)\\s*kB`, 'm'));
      return m ? Number(m[1]) * 1024 : undefined;
    };
    const totalBytes = kb('MemTotal') ?? os.totalmem();
    const availableBytes = Math.min(totalBytes, kb('MemAvailable') ?? os.freemem());
    return { totalBytes, availableBytes, usedBytes: totalBytes - availableBytes };
  }

  /** One entry per real filesystem: pseudo filesystems, bind mounts of the same device and file mounts are left out. */
  async disks(): Promise<DiskUsage[]> {
    const text = await readText(join(this.procDir, 'mounts'));
    const candidates: { device: string; mount: string; fs?: string }[] = [];
    if (text === null) {
      candidates.push({ device: '', mount: parsePath(process.cwd()).root });
    } else {
      const devices = new Set<string>();
      for (const line of text.split('\n')) {
        const [device, rawMount, fs] = line.split(' ');
        if (!device || !rawMount || !fs) continue;
        const mount = unescapeMount(rawMount);
        if (PSEUDO_FS.has(fs) && !(fs === 'overlay' && mount === '/')) continue;
        if (devices.has(device)) continue;
        devices.add(device);
        candidates.push({ device, mount, fs });
      }
    }
    const results = await Promise.all(candidates.map((c) => this.usage(c.mount, c.fs)));
    return results.filter((d): d is DiskUsage => d !== null);
  }

  private async usage(mount: string, fs: string | undefined): Promise<DiskUsage | null> {
    let probe = this.inflight.get(mount);
    if (!probe) {
      probe = (async () => ((await stat(mount)).isDirectory() ? statfs(mount) : null))()
        .catch(() => null)
        .finally(() => this.inflight.delete(mount));
      this.inflight.set(mount, probe);
    }
    const st = await Promise.race([probe, timeout(this.statfsTimeoutMs)]);
    if (st === null || st === 'timeout' || st.blocks === 0) return null;
    const disk: DiskUsage = {
      mount,
      totalBytes: st.blocks * st.bsize,
      usedBytes: (st.blocks - st.bfree) * st.bsize,
      availableBytes: st.bavail * st.bsize,
    };
    if (fs) disk.fs = fs;
    return disk;
  }

  async network(): Promise<Stats['network']> {
    const text = await readText(join(this.procDir, 'net', 'dev'));
    if (text === null) return [];
    const out: Stats['network'] = [];
    for (const line of text.split('\n')) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const iface = line.slice(0, colon).trim();
      const fields = line.slice(colon + 1).trim().split(/\s+/).map(Number);
      // Receive has 8 columns, transmit starts at the 9th.
      const rxBytes = fields[0];
      const txBytes = fields[8];
      if (!iface || iface === 'lo' || rxBytes === undefined || txBytes === undefined) continue;
      if (!Number.isFinite(rxBytes) || !Number.isFinite(txBytes)) continue;
      out.push({ iface, rxBytes, txBytes });
    }
    return out;
  }
}

let shared: StatsCollector | undefined;

/** The one collector the heartbeat and `stats.get` share, so CPU deltas span the time between their calls. */
export function getStatsCollector(): StatsCollector {
  return (shared ??= new StatsCollector());
}
