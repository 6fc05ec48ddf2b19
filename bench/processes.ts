import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every child process and temp dir the bench makes, so they are gone when it exits — normally,
 * on an error, or on SIGINT/SIGTERM.
 */
const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

export interface Tracked {
  child: ChildProcess;
  /** Last lines of stdout+stderr, for error messages. */
  tail(): string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnTracked(cmd: string, args: string[], options: SpawnOptions = {}): Tracked {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  children.add(child);
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(line);
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
    child.once('error', () => {
      children.delete(child);
      resolve({ code: null, signal: null });
    });
  });
  return { child, tail: () => lines.join('\n'), exited };
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcess(t: Tracked, graceMs = 10_000): Promise<void> {
  if (t.child.exitCode !== null || t.child.signalCode !== null) return;
  t.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    t.exited,
    new Promise<void>((r) => {
      timer = setTimeout(() => {
        t.child.kill('SIGKILL');
        r();
      }, graceMs);
    }),
  ]);
  clearTimeout(timer);
  await t.exited;
}

export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `steward-bench-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Synchronous: safe to run from an `exit` handler. */
export function killAllChildren(): void {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

export function installCleanup(): void {
  process.on('exit', killAllChildren);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping child processes\n`);
      killAllChildren();
      process.exit(130);
    });
  }
}

export interface Memory {
  /** Resident set size now, MiB. */
  rssMiB: number;
  /** Peak resident set size (VmHWM), MiB. */
  peakRssMiB: number;
  /**
   * Proportional set size (shared pages divided among the processes mapping them) and unique set
   * size (pages only this process has), MiB, from /proc/<pid>/smaps_rollup; null where that file
   * cannot be read. RSS counts the node binary's ~45 MiB of shared file pages in full for every
   * process; USS is what one more agent really costs the machine.
   */
  pssMiB: number | null;
  ussMiB: number | null;
}

/** VmRSS / VmHWM of a live process, from /proc. */
export function readMemory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${key}`);
    return Number(m[1]);
  };
  let pssMiB: number | null = null;
  let ussMiB: number | null = null;
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const field = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? NaN);
    pssMiB = round1(field('Pss') / 1024);
    ussMiB = round1((field('Private_Clean') + field('Private_Dirty')) / 1024);
    if (Number.isNaN(pssMiB) || Number.isNaN(ussMiB)) pssMiB = ussMiB = null;
  } catch {
    // no smaps_rollup (kernel < 4.14, or not Linux): RSS alone
  }
  return { rssMiB: round1(kb('VmRSS') / 1024), peakRssMiB: round1(kb('VmHWM') / 1024), pssMiB, ussMiB };
}

const CLOCK_TICKS = 100; // getconf CLK_TCK on Linux

/** User+system CPU seconds a process has used so far, from /proc/<pid>/stat. */
export function readCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return (utime + stime) / CLOCK_TICKS;
}

/** Read and write system calls `pid` has made (`/proc/<pid>/io`: syscr, syscw); null where the kernel hides them. */
export function readSyscalls(pid: number): { reads: number; writes: number } | null {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? NaN);
    const reads = field('syscr');
    const writes = field('syscw');
    return Number.isFinite(reads) && Number.isFinite(writes) ? { reads, writes } : null;
  } catch {
    return null;
  }
}

/** CPU seconds of the children `pid` has reaped (cutime + cstime): what its spawned programs cost. */
export function readChildCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[13]) + Number(rest[14])) / CLOCK_TICKS;
}

export function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
