import { readFile } from 'node:fs/promises';

/** True while a process with this pid exists; EPERM means it exists but belongs to another user. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What a daemon's pid file says: the pid on its first line, or why there is none. */
export type PidFileRead = { pid: number } | { missing: true } | { invalid: true };

export async function readPidFile(path: string): Promise<PidFileRead> {
  const text = await readFile(path, 'utf8').catch(() => null);
  if (text === null) return { missing: true };
  const line = text.trim();
  const pid = /^\d+$/.test(line) ? Number(line) : NaN;
  return Number.isSafeInteger(pid) && pid > 0 ? { pid } : { invalid: true };
}

/**
 * The pid a daemon's pid file names, when that process is alive; null otherwise. Pid 1 never
 * counts: it is init, and a caller that signals the daemon must never signal init instead.
 */
export async function livePidFrom(path: string): Promise<number | null> {
  const read = await readPidFile(path);
  if (!('pid' in read) || read.pid <= 1) return null;
  return pidAlive(read.pid) ? read.pid : null;
}
