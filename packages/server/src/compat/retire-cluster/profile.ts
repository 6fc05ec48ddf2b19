import {
  RETIRE_CLUSTER_DEFAULT_HEARTBEAT_S,
  type Inventory,
  type RetireClusterMetrics,
  type RetireClusterRegisterData,
  type Stats,
  type TaskModuleReport,
} from '@steward/protocol';

const GiB = 1024 ** 3;
/** The published worker's `--max-tasks` default: what a device runs at once unless it says. */
export const DEFAULT_SLOTS = 2;

/** What Steward keeps of a Retire-Cluster device's `register` profile. */
export interface DeviceProfile {
  hostname: string;
  platform: string;
  release: string;
  arch: string;
  role: string;
  cores: number;
  memoryBytes: number;
  diskTotalBytes: number;
  diskFreeBytes: number;
  capabilities: string[];
  addresses: string[];
  slots: number;
  heartbeatIntervalMs: number;
  pythonVersion: string;
}

/** Node's names for architectures, so a task's `requirements.arch` means the same on every node. */
function normalArch(machine: string): string {
  const m = machine.toLowerCase();
  if (m === 'x86_64' || m === 'amd64' || m === 'x64') return 'x64';
  if (m === 'aarch64' || m === 'arm64' || m === 'armv8l') return 'arm64';
  if (/^armv?[5-7]/.test(m) || m === 'arm') return 'arm';
  if (m === 'i386' || m === 'i686' || m === 'x86') return 'ia32';
  return m.replace(/[^a-z0-9_]/g, '_').slice(0, 30) || 'unknown';
}

/** Node's names for platforms (`Linux` → linux, `Windows` → win32, `Darwin` → darwin). */
function normalPlatform(p: string): string {
  const l = p.toLowerCase();
  if (l === 'windows') return 'win32';
  return l.replace(/[^a-z0-9]/g, '').slice(0, 30) || 'unknown';
}

function num(...values: (number | null | undefined)[]): number | undefined {
  for (const v of values) if (typeof v === 'number' && Number.isFinite(v)) return v;
  return undefined;
}

function flatCapabilities(c: RetireClusterRegisterData['capabilities'], role: string): string[] {
  const names = Array.isArray(c) ? c : c ? Object.values(c).flat() : [];
  // The role is a capability too, so a task can ask for `role:compute` as Retire-Cluster's required_role did.
  return [...new Set([...names.filter((n) => n.length > 0), `role:${role}`])].sort().slice(0, 1024);
}

/** Reads both shapes of `register` data (the published worker's flat profile, the design document's nested one). */
export function profileFromRegister(d: RetireClusterRegisterData, senderId: string, source: string): DeviceProfile {
  const info = d.device_info ?? {};
  const hw = d.hardware_specs ?? {};
  const details = d.platform_details ?? {};
  const role = (info.role ?? d.role ?? 'worker').slice(0, 64) || 'worker';
  const total = num(hw.disk_space, d.storage_total_gb == null ? undefined : d.storage_total_gb * GiB) ?? 0;
  const free = num(d.storage_free_gb == null ? undefined : d.storage_free_gb * GiB) ?? total;
  const intervalS = num(d.worker_config?.heartbeat_interval, d.heartbeat_interval) ?? RETIRE_CLUSTER_DEFAULT_HEARTBEAT_S;
  const reported = d.ip_address ? [d.ip_address] : [];
  return {
    hostname: info.hostname ?? d.hostname ?? senderId.slice(0, 255),
    platform: normalPlatform(info.platform ?? d.platform ?? details.system ?? 'unknown'),
    release: details.release ?? '',
    arch: normalArch(info.architecture ?? details.machine ?? 'unknown'),
    role,
    cores: Math.max(1, Math.floor(num(hw.cpu_cores, d.cpu_count_logical, d.cpu_count) ?? 1)),
    memoryBytes: Math.floor(num(hw.memory_total, d.memory_total_gb == null ? undefined : d.memory_total_gb * GiB) ?? 0),
    diskTotalBytes: Math.floor(total),
    diskFreeBytes: Math.floor(Math.min(free, total || free)),
    capabilities: flatCapabilities(d.capabilities, role),
    addresses: [...new Set([...reported, source])],
    slots: d.max_concurrent_tasks ?? DEFAULT_SLOTS,
    heartbeatIntervalMs: Math.round(intervalS * 1000),
    pythonVersion: info.python_version ?? details.python_version ?? '',
  };
}

/** The one command type a Retire-Cluster device can carry (see docs/compatibility.md). */
export const RETIRE_CLUSTER_COMMAND_TYPES: Inventory['commandTypes'] = [
  { type: 'task.run', module: 'task', safeToRerun: false, description: 'a scheduled task, handed to the device as a Retire-Cluster `command` task when it asks (task_request)' },
];

export function inventoryOf(p: DeviceProfile): Inventory {
  const disks = p.diskTotalBytes > 0 ? [{ mount: '/', totalBytes: p.diskTotalBytes, usedBytes: p.diskTotalBytes - p.diskFreeBytes, availableBytes: p.diskFreeBytes }] : [];
  return {
    hostname: p.hostname,
    addresses: p.addresses.slice(0, 256),
    os: { platform: p.platform, release: p.release },
    arch: p.arch,
    agentVersion: `retire-cluster${p.pythonVersion ? ` (python ${p.pythonVersion})` : ''}`,
    cpuCores: p.cores,
    memoryBytes: p.memoryBytes,
    disks,
    capabilities: p.capabilities,
    modules: ['task'],
    commandTypes: RETIRE_CLUSTER_COMMAND_TYPES,
  };
}

/**
 * The profile again from a node's stored inventory: a device heard from after a control-plane
 * restart beats without registering again. Its slot count is not in the inventory: the default.
 */
export function profileFromInventory(inv: Inventory, heartbeatIntervalMs: number): DeviceProfile {
  const disk = inv.disks[0];
  const role = inv.capabilities.find((c) => c.startsWith('role:'))?.slice(5) ?? 'worker';
  return {
    hostname: inv.hostname,
    platform: inv.os.platform,
    release: inv.os.release,
    arch: inv.arch,
    role,
    cores: Math.max(1, inv.cpuCores),
    memoryBytes: inv.memoryBytes,
    diskTotalBytes: disk?.totalBytes ?? 0,
    diskFreeBytes: disk?.availableBytes ?? 0,
    capabilities: inv.capabilities,
    addresses: inv.addresses,
    slots: DEFAULT_SLOTS,
    heartbeatIntervalMs,
    pythonVersion: /python ([^)]+)/.exec(inv.agentVersion)?.[1] ?? '',
  };
}

/** A heartbeat's metrics as Steward's Stats; what the device does not say stays at what its profile said. */
export function statsFrom(m: RetireClusterMetrics, p: DeviceProfile, connectedSeconds: number, now: number): Stats {
  const cpuPercent = Math.min(100, num(m.cpu_usage) ?? 0);
  const memPercent = num(m.memory_usage);
  const total = p.memoryBytes;
  const available = Math.min(
    total,
    Math.floor(num(m.memory_available_gb == null ? undefined : m.memory_available_gb * GiB, memPercent === undefined ? undefined : total * (1 - Math.min(100, memPercent) / 100)) ?? total),
  );
  const load = [num(m.load_average?.[0], m.load_average_1m) ?? 0, num(m.load_average?.[1], m.load_average_5m) ?? 0, num(m.load_average?.[2], m.load_average_15m) ?? 0];
  const disks: Stats['disks'] = [];
  if (p.diskTotalBytes > 0) {
    const usedPercent = num(m.storage_usage, m.disk_usage);
    const free = num(m.storage_free_gb == null ? undefined : m.storage_free_gb * GiB, usedPercent === undefined ? undefined : p.diskTotalBytes * (1 - Math.min(100, usedPercent) / 100)) ?? p.diskFreeBytes;
    const availableBytes = Math.floor(Math.min(p.diskTotalBytes, free));
    disks.push({ mount: '/', totalBytes: p.diskTotalBytes, usedBytes: p.diskTotalBytes - availableBytes, availableBytes });
  }
  const network: Stats['network'] = [];
  if (m.network_bytes_recv != null || m.network_bytes_sent != null) network.push({ iface: 'all', rxBytes: m.network_bytes_recv ?? 0, txBytes: m.network_bytes_sent ?? 0 });
  return {
    collectedAt: now,
    cpu: { usagePercent: cpuPercent, cores: p.cores },
    load,
    memory: { totalBytes: total, availableBytes: available, usedBytes: total - available },
    disks,
    network,
    uptimeSeconds: num(m.uptime) ?? 0,
    agentUptimeSeconds: Math.max(0, Math.round(connectedSeconds)),
  };
}

/** The task module report the scheduler places by: the device's slots, what it runs, its load and free disk. */
export function taskReport(p: DeviceProfile, running: TaskModuleReport['running'], stats: Stats | null): TaskModuleReport {
  const load1 = stats?.load[0] ?? 0;
  return {
    slots: p.slots,
    running,
    load: Math.round((load1 / p.cores) * 100) / 100,
    diskBytes: stats?.disks[0]?.availableBytes ?? p.diskFreeBytes,
  };
}
