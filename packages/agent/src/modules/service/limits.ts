import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { LimitsMode } from '@steward/protocol';
import type { CgroupDriver } from './cgroup.js';
import { CgroupV1Driver } from './cgroup-v1.js';
import { CgroupV2Driver } from './cgroup-v2.js';

export interface LimitsChoice {
  mode: LimitsMode;
  driver: CgroupDriver | null;
  /** Why cgroups are not used, when they are not. */
  why: string | null;
}

/**
 * Decided once at start. v2 when `<root>/cgroup.controllers` lists memory, cpu and pids; else
 * v1 when the memory, cpu and pids hierarchies are mounted; and only when a test cgroup can be
 * created (root, writable mount). Otherwise limits fall back to the RSS watch (`degraded`).
 */
export function chooseLimits(opts: { cgroup: 'auto' | 'v1' | 'v2' | 'off'; root: string; parent: string }, log: Logger): LimitsChoice {
  if (opts.cgroup === 'off') return { mode: 'degraded', driver: null, why: 'cgroups turned off in the agent config' };
  const candidates: CgroupDriver[] = [];
  if ((opts.cgroup === 'auto' || opts.cgroup === 'v2') && CgroupV2Driver.available(opts.root)) candidates.push(new CgroupV2Driver(opts.root, opts.parent));
  if ((opts.cgroup === 'auto' || opts.cgroup === 'v1') && CgroupV1Driver.available(opts.root)) candidates.push(new CgroupV1Driver(opts.root, opts.parent));
  if (candidates.length === 0) return { mode: 'degraded', driver: null, why: `no usable cgroup ${opts.cgroup === 'auto' ? 'v1 or v2' : opts.cgroup} under ${opts.root}` };
  const errors: string[] = [];
  for (const driver of candidates) {
    const probeBase = driver.mode === 'cgroup2' ? opts.root : join(opts.root, 'memory');
    const probe = join(probeBase, opts.parent, `.probe-${process.pid}`);
    try {
      mkdirSync(probe, { recursive: true });
      rmdirSync(probe);
      return { mode: driver.mode, driver, why: null };
    } catch (e) {
      errors.push(`${driver.mode}: ${(e as Error).message}`);
    }
  }
  const why = `cgroups not writable (${errors.join('; ')})`;
  log.warn({ why }, 'service limits degraded to the RSS watch');
  return { mode: 'degraded', driver: null, why };
}
