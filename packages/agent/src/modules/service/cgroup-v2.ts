import { appendFileSync, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceLimits } from '@steward/protocol';
import { cpuQuotaUs, CPU_PERIOD_US, type CgroupDriver, type ServiceCgroup } from './cgroup.js';
import { killPids } from './cgroup-v1.js';

const NEEDED = ['memory', 'cpu', 'pids'];

/**
 * cgroup v2 (unified): `<root>/<parent>/<name>` with `memory.max`, `cpu.max`, `pids.max`. The
 * controllers must be enabled in `cgroup.subtree_control` of the root and of the parent for the
 * files to exist. OOM kills are counted by `oom_kill` in `memory.events`.
 */
export class CgroupV2Driver implements CgroupDriver {
  readonly mode = 'cgroup2' as const;

  constructor(
    private readonly root: string,
    private readonly parent: string,
  ) {}

  static available(root: string): boolean {
    try {
      const have = readFileSync(join(root, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
      return NEEDED.every((c) => have.includes(c));
    } catch {
      return false;
    }
  }

  private dir(name: string): string {
    return join(this.root, this.parent, name);
  }

  private enableControllers(dir: string): void {
    const file = join(dir, 'cgroup.subtree_control');
    const enabled = existsSync(file) ? readFileSync(file, 'utf8').trim().split(/\s+/) : [];
    const missing = NEEDED.filter((c) => !enabled.includes(c));
    if (missing.length) appendFileSync(file, missing.map((c) => `+${c}`).join(' '));
  }

  create(name: string, limits: ServiceLimits): ServiceCgroup {
    const parentDir = join(this.root, this.parent);
    mkdirSync(parentDir, { recursive: true });
    this.enableControllers(this.root);
    this.enableControllers(parentDir);
    const dir = this.dir(name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'memory.max'), limits.memoryMB === undefined ? 'max' : String(limits.memoryMB * 1024 * 1024));
    // Without swap limits a hog would swap instead of being stopped at the limit.
    if (existsSync(join(dir, 'memory.swap.max'))) writeFileSync(join(dir, 'memory.swap.max'), limits.memoryMB === undefined ? 'max' : '0');
    writeFileSync(join(dir, 'cpu.max'), `${limits.cpuPercent === undefined ? 'max' : cpuQuotaUs(limits.cpuPercent)} ${CPU_PERIOD_US}`);
    writeFileSync(join(dir, 'pids.max'), limits.pids === undefined ? 'max' : String(limits.pids));
    return this.handle(name);
  }

  existing(name: string): ServiceCgroup | null {
    return existsSync(this.dir(name)) ? this.handle(name) : null;
  }

  private handle(name: string): ServiceCgroup {
    const dir = this.dir(name);
    return {
      procsFiles: [join(dir, 'cgroup.procs')],
      oomKills: () => {
        try {
          const m = /^oom_kill (\d+)$/m.exec(readFileSync(join(dir, 'memory.events'), 'utf8'));
          return m ? Number(m[1]) : 0;
        } catch {
          return 0;
        }
      },
      killAll: () => killPids(join(dir, 'cgroup.procs')),
      remove: () => {
        try {
          rmdirSync(dir);
        } catch {
          /* still populated, or gone */
        }
      },
    };
  }
}
