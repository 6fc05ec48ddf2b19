import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { parseVmRssBytes, readStat, TICK_MS, type ProcStat } from '../../lib/proc-stat.js';

export { parseStat, readStat, readStatSync, type ProcStat } from '../../lib/proc-stat.js';

/** Every process in /proc, grouped by process group. Empty where there is no /proc. */
export async function processGroups(): Promise<Map<number, ProcStat[]>> {
  const groups = new Map<number, ProcStat[]>();
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return groups;
  }
  await Promise.all(
    names.map(async (n) => {
      if (!/^\d+$/.test(n)) return;
      const st = await readStat(Number(n));
      if (!st) return;
      const list = groups.get(st.pgrp);
      if (list) list.push(st);
      else groups.set(st.pgrp, [st]);
    }),
  );
  return groups;
}

/** Resident memory of a process in bytes (VmRSS), or 0 when it is gone. */
export async function rssBytes(pid: number): Promise<number> {
  try {
    return parseVmRssBytes(await readFile(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return 0;
  }
}

/**
 * CPU of the agent's own children that it has waited for (cutime + cstime of /proc/self), ms,
 * or null without /proc. Node waits for a child the moment it exits, so this grows by the
 * whole CPU of a task's tree when its main process ends.
 */
export function reapedChildrenCpuMs(): number | null {
  try {
    const st = readFileSync('/proc/self/stat', 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return (Number(f[16 - 3]) + Number(f[17 - 3])) * TICK_MS;
  } catch {
    return null;
  }
}
