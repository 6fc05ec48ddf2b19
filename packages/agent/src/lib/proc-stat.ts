import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** Linux reports CPU time in clock ticks of USER_HZ, which is 100 on every mainstream architecture. */
export const TICK_MS = 10;

export interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  /** Session id (field 6): a terminal's processes share its leader's, whatever their group. */
  session: number;
  /** Field 3: R, S, D, Z (zombie: exited, waiting to be reaped), X… */
  state: string;
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
    session: num(6),
    state: f[0] ?? '',
    cpuMs: (num(14) + num(15) + num(16) + num(17)) * TICK_MS,
    startTicks: num(22),
  };
}

/** Sync, for callers that poll many pids on a timer without interleaving. */
export function readStatSync(pid: number): ProcStat | null {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

export async function readStat(pid: number): Promise<ProcStat | null> {
  try {
    return parseStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** VmRSS of a /proc/<pid>/status text in bytes; 0 for a process without one (a kernel thread, a zombie). */
export function parseVmRssBytes(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}
