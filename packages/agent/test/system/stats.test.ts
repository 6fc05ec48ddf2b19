import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { compile, Stats } from '@steward/protocol';
import { describe, expect, it } from 'vitest';
import { getStatsCollector, StatsCollector } from '../../src/system/stats.js';
import { tempDir } from '../modules/context.js';

const validate = compile(Stats);

/** A fake /proc with meminfo, mounts and net/dev; mount points are real directories under `dir`. */
async function fakeProc(dir: string): Promise<string> {
  const proc = join(dir, 'proc');
  await mkdir(join(proc, 'net'), { recursive: true });
  await mkdir(join(dir, 'data disk'));
  await mkdir(join(dir, 'bind'));
  await mkdir(join(dir, 'scratch'));
  await writeFile(join(dir, 'file-mount'), '');
  await writeFile(join(proc, 'meminfo'), 'MemTotal:        1000 kB\nMemFree:          100 kB\nMemAvailable:     250 kB\n');
  const dataDisk = join(dir, 'data\\040disk');
  await writeFile(
    join(proc, 'mounts'),
    [
      'proc /proc proc rw 0 0',
      'sysfs /sys sysfs rw 0 0',
      `tmpfs ${join(dir, 'scratch')} tmpfs rw 0 0`,
      `/dev/sdb1 ${dataDisk} ext4 rw 0 0`,
      `/dev/sdb1 ${join(dir, 'bind')} ext4 rw 0 0`,
      `overlay ${join(dir, 'scratch')} overlay rw 0 0`,
      `/dev/sdc1 ${join(dir, 'file-mount')} ext4 rw 0 0`,
      `/dev/sdd1 ${join(dir, 'gone')} xfs rw 0 0`,
      '',
    ].join('\n'),
  );
  await writeFile(
    join(proc, 'net', 'dev'),
    [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo:  5000      50    0    0    0     0          0         0     5000      50    0    0    0     0       0          0',
      '  eth0: 123456    100    0    0    0     0          0         0    654321     90    0    0    0     0       0          0',
      '',
    ].join('\n'),
  );
  return proc;
}

describe('StatsCollector', () => {
  it('collects a snapshot that matches the protocol Stats schema', async () => {
    const stats = validate.parse(await new StatsCollector().collect());
    expect(stats.load).toHaveLength(3);
    expect(stats.cpu.usagePercent).toBeLessThanOrEqual(100);
    expect(stats.memory.usedBytes + stats.memory.availableBytes).toBe(stats.memory.totalBytes);
    expect(stats.agentUptimeSeconds).toBeLessThanOrEqual(stats.uptimeSeconds + 1);
    if (process.platform === 'linux') expect(stats.disks.some((d) => d.mount === '/')).toBe(true);
  });

  it('reads memory, real disks and network counters from /proc', async () => {
    const dir = await tempDir();
    const stats = validate.parse(await new StatsCollector({ procDir: await fakeProc(dir) }).collect());
    expect(stats.memory).toEqual({ totalBytes: 1000 * 1024, availableBytes: 250 * 1024, usedBytes: 750 * 1024 });
    // pseudo filesystems, the second mount of a device, file mounts and vanished mounts are left out
    expect(stats.disks.map((d) => [d.mount, d.fs])).toEqual([[join(dir, 'data disk'), 'ext4']]);
    expect(stats.disks[0]!.totalBytes).toBeGreaterThan(0);
    expect(stats.network).toEqual([{ iface: 'eth0', rxBytes: 123456, txBytes: 654321 }]);
  });

  it('falls back to what os offers when there is no /proc', async () => {
    const stats = validate.parse(await new StatsCollector({ procDir: await tempDir() }).collect());
    expect(stats.memory.totalBytes).toBe(os.totalmem());
    expect(stats.network).toEqual([]);
    expect(stats.disks).toHaveLength(1);
  });

  it('measures CPU usage as the delta since the previous sample', async () => {
    const collector = new StatsCollector({ minCpuWindowMs: 0 });
    await collector.collect();
    const until = Date.now() + 150;
    while (Date.now() < until); // keep one core busy
    const { cpu } = await collector.collect();
    expect(cpu.usagePercent).toBeGreaterThan(0);
    expect(cpu.usagePercent).toBeLessThanOrEqual(100);
  });

  it('shares one collector between the heartbeat and stats.get', () => {
    expect(getStatsCollector()).toBe(getStatsCollector());
  });
});
