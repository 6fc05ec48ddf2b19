import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { CgroupV2Driver } from '../../../src/modules/service/cgroup-v2.js';
import { chooseLimits } from '../../../src/modules/service/limits.js';
import { decideAfterExit, resolveRestart } from '../../../src/modules/service/restart-policy.js';
import { removeTestCgroups } from '../../../../../test/support/service-artifacts.js';

const log = pino({ level: 'silent' });
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A directory that looks like a cgroup v2 mount: controllers listed, subtree_control writable. */
function fakeV2(): string {
  const root = mkdtempSync(join(tmpdir(), 'steward-fake-cg2-'));
  dirs.push(root);
  writeFileSync(join(root, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
  writeFileSync(join(root, 'cgroup.subtree_control'), '');
  writeFileSync(join(root, 'cgroup.procs'), '');
  return root;
}

describe('cgroup v2 driver (against a fake tree)', () => {
  it('is chosen when cgroup.controllers lists memory, cpu and pids, and writes the limits', () => {
    const root = fakeV2();
    const choice = chooseLimits({ cgroup: 'auto', root, parent: 'steward' }, log);
    expect(choice.mode).toBe('cgroup2');
    const cg = choice.driver!.create('web', { memoryMB: 64, cpuPercent: 50, pids: 32 });
    const dir = join(root, 'steward', 'web');
    expect(readFileSync(join(dir, 'memory.max'), 'utf8')).toBe(String(64 * 1024 * 1024));
    expect(readFileSync(join(dir, 'cpu.max'), 'utf8')).toBe('50000 100000');
    expect(readFileSync(join(dir, 'pids.max'), 'utf8')).toBe('32');
    expect(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8')).toBe('+memory +cpu +pids');
    expect(readFileSync(join(root, 'steward', 'cgroup.subtree_control'), 'utf8')).toBe('+memory +cpu +pids');
    expect(cg.procsFiles).toEqual([join(dir, 'cgroup.procs')]);
  });

  it('writes max for limits not given, and counts OOM kills from memory.events', () => {
    const root = fakeV2();
    const driver = new CgroupV2Driver(root, 'steward');
    const cg = driver.create('db', {});
    const dir = join(root, 'steward', 'db');
    expect(readFileSync(join(dir, 'memory.max'), 'utf8')).toBe('max');
    expect(readFileSync(join(dir, 'cpu.max'), 'utf8')).toBe('max 100000');
    expect(readFileSync(join(dir, 'pids.max'), 'utf8')).toBe('max');
    expect(cg.oomKills()).toBe(0);
    writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\n');
    expect(cg.oomKills()).toBe(2);
    expect(driver.existing('db')).not.toBeNull();
    expect(driver.existing('nope')).toBeNull();
  });

  it('a tree without the controllers, or cgroups turned off, degrades to the RSS watch', () => {
    const root = mkdtempSync(join(tmpdir(), 'steward-fake-none-'));
    dirs.push(root);
    mkdirSync(join(root, 'unified'));
    expect(chooseLimits({ cgroup: 'auto', root, parent: 'steward' }, log)).toMatchObject({ mode: 'degraded', driver: null });
    expect(chooseLimits({ cgroup: 'off', root: '/sys/fs/cgroup', parent: 'steward' }, log)).toMatchObject({ mode: 'degraded' });
  });

  it('this machine: cgroup v1 is detected and writable (the agent runs as root)', () => {
    expect(chooseLimits({ cgroup: 'auto', root: '/sys/fs/cgroup', parent: 'steward-probe-test' }, log).mode).toBe('cgroup1');
    removeTestCgroups('steward-probe-test');
  });
});

describe('restart policy', () => {
  const p = resolveRestart(undefined);

  it('defaults: 100 ms × 1.5 up to 15 s, reset after 30 s up, fatal at 5 crashes within 60 s', () => {
    expect(p).toEqual({ policy: 'always', initialDelayMs: 100, maxDelayMs: 15_000, multiplier: 1.5, resetAfterMs: 30_000, fatalAfter: { crashes: 5, withinMs: 60_000 } });
    const delays: number[] = [];
    let step = 0;
    for (let i = 0; i < 15; i++) {
      const d = decideAfterExit(p, { abnormal: false, at: 0, upMs: 10 }, [], step);
      if (d.kind !== 'restart') throw new Error('expected restart');
      delays.push(d.delayMs);
      step = d.step;
    }
    expect(delays.slice(0, 5)).toEqual([100, 150, 225, 338, 506]);
    expect(delays.at(-1)).toBe(15_000);
    // Up for resetAfterMs: the backoff starts over.
    expect(decideAfterExit(p, { abnormal: false, at: 0, upMs: 30_000 }, [], 9)).toEqual({ kind: 'restart', delayMs: 100, step: 1 });
  });

  it('"more than 3 abnormal exits within 15 minutes → fatal" is { crashes: 4, withinMs: 900000 }', () => {
    const q = resolveRestart({ fatalAfter: { crashes: 4, withinMs: 900_000 } });
    const at = 10_000_000;
    // Three earlier crashes inside the window: this fourth one is fatal.
    expect(decideAfterExit(q, { abnormal: true, at, upMs: 1 }, [at - 800_000, at - 500_000, at - 1000], 3)).toEqual({ kind: 'fatal', crashesInWindow: 4 });
    // One of them older than 15 minutes: only 3 in the window, so a restart.
    expect(decideAfterExit(q, { abnormal: true, at, upMs: 1 }, [at - 900_001, at - 500_000, at - 1000], 3).kind).toBe('restart');
    // Clean exits never count toward fatal.
    expect(decideAfterExit(q, { abnormal: false, at, upMs: 1 }, [at - 3, at - 2, at - 1], 3).kind).toBe('restart');
  });

  it('on-failure stops after a clean exit; never stops always, failed when abnormal', () => {
    expect(decideAfterExit(resolveRestart({ policy: 'on-failure' }), { abnormal: false, at: 0, upMs: 1 }, [], 0)).toEqual({ kind: 'stop', state: 'stopped' });
    expect(decideAfterExit(resolveRestart({ policy: 'on-failure' }), { abnormal: true, at: 0, upMs: 1 }, [], 0).kind).toBe('restart');
    expect(decideAfterExit(resolveRestart({ policy: 'never' }), { abnormal: true, at: 0, upMs: 1 }, [], 0)).toEqual({ kind: 'stop', state: 'failed' });
  });
});
