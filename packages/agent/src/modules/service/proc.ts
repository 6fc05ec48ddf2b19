import { readFileSync } from 'node:fs';
import { parseVmRssBytes, readStatSync } from '../../lib/proc-stat.js';

/**
 * Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. A pid and
 * this value together name one process; a recycled pid has another start time.
 */
export function processStartTime(pid: number): string | null {
  const st = readStatSync(pid);
  // A zombie has exited and only waits to be reaped.
  if (!st || st.state === 'Z' || st.state === 'X' || !Number.isFinite(st.startTicks)) return null;
  return String(st.startTicks);
}

/** True while the very process recorded earlier (same pid, same start time) still runs. */
export function sameProcessAlive(pid: number, startTime: string | null): boolean {
  const now = processStartTime(pid);
  return now !== null && (startTime === null || now === startTime);
}

/** Resident set size in bytes, or null when the process is gone. */
export function residentBytes(pid: number): number | null {
  try {
    return parseVmRssBytes(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return null;
  }
}

