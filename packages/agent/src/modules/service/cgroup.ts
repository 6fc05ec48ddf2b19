import type { LimitsMode, ServiceLimits } from '@steward/protocol';

/** One service's cgroup(s): where its processes go and how a limit kill is recognised. */
export interface ServiceCgroup {
  /** `cgroup.procs` files the spawn wrapper writes its own pid into before it execs the service. */
  procsFiles: string[];
  /** How many times the kernel OOM killer has struck in this cgroup so far. */
  oomKills(): number;
  /** Signals every process left in the cgroup (processes that left the service's process group). */
  killAll(): void;
  remove(): void;
}

/** Creates per-service cgroups with limits; one implementation per cgroup version. */
export interface CgroupDriver {
  mode: Extract<LimitsMode, 'cgroup1' | 'cgroup2'>;
  /** Creates (or reuses) the service's cgroup and writes its limits. Throws when it cannot. */
  create(name: string, limits: ServiceLimits): ServiceCgroup;
  /** The cgroup of a service created earlier (after an agent restart), without touching limits. */
  existing(name: string): ServiceCgroup | null;
}

/** CFS period used for CPU quotas, in microseconds. */
export const CPU_PERIOD_US = 100_000;

export function cpuQuotaUs(cpuPercent: number): number {
  return Math.max(1000, Math.round((cpuPercent / 100) * CPU_PERIOD_US));
}
