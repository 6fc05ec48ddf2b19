import type { Inventory, Stats } from './api/inventory.js';
import type { TaskModuleReport } from './api/tasks.js';

/*
 * An agent says what its machine is; a hostile one says it has 4096 cores to attract tasks.
 * The control plane keeps what an agent says only inside these bounds: a value past one is
 * clamped to it (and the clamp is logged and announced as a node event), not refused, so a
 * mistaken agent still connects and can be looked at.
 */
export const INVENTORY_CAPS = {
  cpuCores: 1024,
  /** 64 TiB. */
  memoryBytes: 64 * 2 ** 40,
  /** 1 EiB, per disk and per figure. */
  diskBytes: 2 ** 60,
  /** Task slots a node may claim (the agent's own setting allows no more). */
  taskSlots: 1024,
  /** Load per core past which a node is simply "very busy". */
  load: 1024,
  /** Short strings (hostname, OS, arch, versions, mounts, capabilities…). */
  shortString: 255,
  /** Entries of the lists (addresses, disks, capabilities, modules). */
  listItems: 256,
} as const;

export interface Clamped<T> {
  value: T;
  /** Fields that were past a cap, e.g. `cpuCores` or `disks[0].totalBytes`; empty when none. */
  clamped: string[];
}

function capper(clamped: string[]) {
  const num = (field: string, v: number, max: number): number => {
    if (!Number.isFinite(v) || v < 0) {
      clamped.push(field);
      return 0;
    }
    if (v > max) {
      clamped.push(field);
      return max;
    }
    return v;
  };
  const str = (field: string, v: string, max: number = INVENTORY_CAPS.shortString): string => {
    if (v.length <= max) return v;
    clamped.push(field);
    return v.slice(0, max);
  };
  const list = <T>(field: string, v: T[], max: number = INVENTORY_CAPS.listItems): T[] => {
    if (v.length <= max) return v;
    clamped.push(field);
    return v.slice(0, max);
  };
  return { num, str, list };
}

/** The inventory as the control plane keeps it: every figure inside INVENTORY_CAPS. */
export function capInventory(inv: Inventory): Clamped<Inventory> {
  const clamped: string[] = [];
  const { num, str, list } = capper(clamped);
  const opt = (field: string, v: string | undefined) => (v === undefined ? undefined : str(field, v));
  const value: Inventory = {
    ...inv,
    hostname: str('hostname', inv.hostname),
    addresses: list('addresses', inv.addresses).map((a, i) => str(`addresses[${i}]`, a, 64)),
    os: {
      platform: str('os.platform', inv.os.platform),
      release: str('os.release', inv.os.release),
      ...(inv.os.distro !== undefined ? { distro: opt('os.distro', inv.os.distro) } : {}),
    },
    arch: str('arch', inv.arch),
    agentVersion: str('agentVersion', inv.agentVersion),
    cpuCores: num('cpuCores', inv.cpuCores, INVENTORY_CAPS.cpuCores),
    ...(inv.cpuModel !== undefined ? { cpuModel: opt('cpuModel', inv.cpuModel) } : {}),
    memoryBytes: num('memoryBytes', inv.memoryBytes, INVENTORY_CAPS.memoryBytes),
    disks: list('disks', inv.disks).map((d, i) => ({
      ...d,
      mount: str(`disks[${i}].mount`, d.mount, 4096),
      ...(d.fs !== undefined ? { fs: opt(`disks[${i}].fs`, d.fs) } : {}),
      totalBytes: num(`disks[${i}].totalBytes`, d.totalBytes, INVENTORY_CAPS.diskBytes),
      usedBytes: num(`disks[${i}].usedBytes`, d.usedBytes, INVENTORY_CAPS.diskBytes),
      availableBytes: num(`disks[${i}].availableBytes`, d.availableBytes, INVENTORY_CAPS.diskBytes),
    })),
    capabilities: list('capabilities', inv.capabilities).map((c, i) => str(`capabilities[${i}]`, c)),
    modules: list('modules', inv.modules).map((m, i) => str(`modules[${i}]`, m)),
  };
  return { value, clamped };
}

/** Heartbeat stats with cores, memory, disk and network figures inside INVENTORY_CAPS. */
export function capStats(stats: Stats): Clamped<Stats> {
  const clamped: string[] = [];
  const { num, list } = capper(clamped);
  const mem = INVENTORY_CAPS.memoryBytes;
  const disk = INVENTORY_CAPS.diskBytes;
  const value: Stats = {
    ...stats,
    cpu: { usagePercent: num('cpu.usagePercent', stats.cpu.usagePercent, 100 * INVENTORY_CAPS.cpuCores), cores: num('cpu.cores', stats.cpu.cores, INVENTORY_CAPS.cpuCores) },
    memory: {
      totalBytes: num('memory.totalBytes', stats.memory.totalBytes, mem),
      availableBytes: num('memory.availableBytes', stats.memory.availableBytes, mem),
      usedBytes: num('memory.usedBytes', stats.memory.usedBytes, mem),
    },
    disks: list('disks', stats.disks).map((d, i) => ({
      ...d,
      totalBytes: num(`disks[${i}].totalBytes`, d.totalBytes, disk),
      usedBytes: num(`disks[${i}].usedBytes`, d.usedBytes, disk),
      availableBytes: num(`disks[${i}].availableBytes`, d.availableBytes, disk),
    })),
    network: list('network', stats.network),
  };
  return { value, clamped };
}

/** A task module report with slots, load and free disk inside INVENTORY_CAPS. */
export function capTaskReport(rep: TaskModuleReport): Clamped<TaskModuleReport> {
  const clamped: string[] = [];
  const { num } = capper(clamped);
  const value = {
    ...rep,
    slots: num('task.slots', rep.slots, INVENTORY_CAPS.taskSlots),
    load: num('task.load', rep.load, INVENTORY_CAPS.load),
    diskBytes: num('task.diskBytes', rep.diskBytes, INVENTORY_CAPS.diskBytes),
  };
  return { value, clamped };
}
