import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceLimits } from '@steward/protocol';
import { cpuQuotaUs, CPU_PERIOD_US, type CgroupDriver, type ServiceCgroup } from './cgroup.js';

const CONTROLLERS = ['memory', 'cpu', 'pids'] as const;

/**
 * cgroup v1: one hierarchy per controller (`<root>/memory`, `<root>/cpu`, `<root>/pids`); the
 * service gets `<parent>/<name>` in each. Memory limit via `memory.limit_in_bytes` (and
 * `memory.memsw.limit_in_bytes` where swap accounting exists, so a hog cannot swap past it),
 * CPU via CFS quota/period, process count via `pids.max`. OOM kills are counted by the
 * `oom_kill` line of `memory.oom_control`.
 */
export class CgroupV1Driver implements CgroupDriver {
  readonly mode = 'cgroup1' as const;

  constructor(
    private readonly root: string,
    private readonly parent: string,
  ) {}

  static available(root: string): boolean {
    return CONTROLLERS.every((c) => existsSync(join(root, c, 'cgroup.procs')));
  }

  private dir(controller: string, name: string): string {
    return join(this.root, controller, this.parent, name);
  }

  create(name: string, limits: ServiceLimits): ServiceCgroup {
    for (const c of CONTROLLERS) mkdirSync(this.dir(c, name), { recursive: true });
    const mem = this.dir('memory', name);
    const bytes = limits.memoryMB === undefined ? -1 : limits.memoryMB * 1024 * 1024;
    // memsw must stay >= limit_in_bytes: lower order matters in both directions.
    const memsw = join(mem, 'memory.memsw.limit_in_bytes');
    if (existsSync(memsw)) {
      writeFileSync(memsw, '-1');
      writeFileSync(join(mem, 'memory.limit_in_bytes'), String(bytes));
      writeFileSync(memsw, String(bytes));
    } else {
      writeFileSync(join(mem, 'memory.limit_in_bytes'), String(bytes));
    }
    const cpu = this.dir('cpu', name);
    writeFileSync(join(cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
    writeFileSync(join(cpu, 'cpu.cfs_quota_us'), limits.cpuPercent === undefined ? '-1' : String(cpuQuotaUs(limits.cpuPercent)));
    writeFileSync(join(this.dir('pids', name), 'pids.max'), limits.pids === undefined ? 'max' : String(limits.pids));
    return this.handle(name);
  }

  existing(name: string): ServiceCgroup | null {
    return existsSync(this.dir('memory', name)) ? this.handle(name) : null;
  }

  private handle(name: string): ServiceCgroup {
    const dirs = CONTROLLERS.map((c) => this.dir(c, name));
    return {
      procsFiles: dirs.map((d) => join(d, 'cgroup.procs')),
      oomKills: () => {
        try {
          const m = /^oom_kill (\d+)$/m.exec(readFileSync(join(this.dir('memory', name), 'memory.oom_control'), 'utf8'));
          return m ? Number(m[1]) : 0;
        } catch {
          return 0;
        }
      },
      killAll: () => killPids(join(this.dir('pids', name), 'cgroup.procs')),
      remove: () => {
        for (const d of dirs) {
          try {
            rmdirSync(d);
          } catch {
            /* still has processes, or gone already */
          }
        }
      },
    };
  }
}

export function killPids(procsFile: string): void {
  let text = '';
  try {
    text = readFileSync(procsFile, 'utf8');
  } catch {
    return;
  }
  for (const line of text.split('\n')) {
    const pid = Number(line);
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}
