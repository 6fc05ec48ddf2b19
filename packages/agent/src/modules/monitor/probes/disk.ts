import { statfs } from 'node:fs/promises';
import type { DiskUsage } from '@steward/protocol';
import { getStatsCollector } from '../../../system/stats.js';
import type { ProbeResult } from './probe.js';

const STATFS_TIMEOUT_MS = 5000;

/** Used share as `df` shows it: blocks reserved for root count as neither used nor available. */
export function usedPercent(d: Pick<DiskUsage, 'usedBytes' | 'availableBytes'>): number {
  const denominator = d.usedBytes + d.availableBytes;
  return denominator === 0 ? 0 : (d.usedBytes / denominator) * 100;
}

async function usageOf(mount: string): Promise<DiskUsage> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`statfs ${mount} took over ${STATFS_TIMEOUT_MS} ms`)), STATFS_TIMEOUT_MS);
  });
  try {
    const st = await Promise.race([statfs(mount), timeout]);
    return {
      mount,
      totalBytes: st.blocks * st.bsize,
      usedBytes: (st.blocks - st.bfree) * st.bsize,
      availableBytes: st.bavail * st.bsize,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Fails when any watched mount is fuller than `maxUsedPercent`; names each one that is. */
export async function probeDisk(spec: { mounts?: string[]; maxUsedPercent: number }): Promise<ProbeResult> {
  const disks = spec.mounts ? await Promise.all(spec.mounts.map(usageOf)) : await getStatsCollector().disks();
  if (disks.length === 0) return { ok: false, message: 'no filesystem to measure' };
  const full = disks.filter((d) => usedPercent(d) > spec.maxUsedPercent);
  const fmt = (d: DiskUsage) => `${d.mount} ${usedPercent(d).toFixed(1)}%`;
  if (full.length > 0) return { ok: false, message: `over ${spec.maxUsedPercent}% used: ${full.map(fmt).join(', ')}` };
  return { ok: true, message: disks.map(fmt).join(', ') };
}
