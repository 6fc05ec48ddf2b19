import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

/** Linux reports CPU time in clock ticks of USER_HZ, which is 100 on every mainstream architecture. */
const TICK_MS = 10;

export interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  /** utime + stime + cutime + cstime: the process's CPU plus that of children it has reaped, ms. */
  cpuMs: number;
  /** Start time in clock ticks since boot: with the pid, identifies a process across pid reuse. */
  startTicks: number;
}

/** Parses /proc/<pid>/stat; the command name may hold spaces and parentheses. */
export function parseStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < 0) return null;
  const pid = Number(text.slice(0, open).trim());
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state); field n is f[n - 3].
  const num = (n: number) => Number(f[n - 3]);
  if (f.length < 20) return null;
  return {
    pid,
    ppid: num(4),
    pgrp: num(5),
    cpuMs: (num(14) + num(15) + num(16) + num(17)) * TICK_MS,
    startTicks: num(22),
  };
}

export async function readStat(pid: number): Promise<ProcStat | null> {
  try {
    return parseStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

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
    const text = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
    return m ? Number(m[1]) * 1024 : 0;
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
