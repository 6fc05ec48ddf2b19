import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TaskOutputStream, TaskRunPayload, TaskRunResult } from '@steward/protocol';
import { exitOutcome, signalGroup, type StopReason } from '../../lib/process-group.js';
import { HandlerFailure } from '../types.js';
import type { OrphanRegistry } from './orphans.js';
import type { GroupSampler } from './sampler.js';

export interface RunnerSettings {
  /** Output streamed per attempt; beyond it the rest is drained and `truncated` set. */
  maxOutputBytes: number;
  /** A chunk is sent when this many bytes are buffered… */
  chunkBytes: number;
  /** …or this long after its first byte. */
  flushMs: number;
  /** Between SIGTERM and SIGKILL to the process group. */
  killGraceMs: number;
  /** Bytes of output kept for the result's `tail`. */
  tailBytes: number;
}

/** Fencing (link/fence.ts): aborted when the control plane stopped acknowledging this agent. */
export interface RunFence {
  signal: AbortSignal;
  /** The kill grace for a fenced stop (the fence's, when shorter than ours). */
  graceMs(): number;
}

export interface RunHooks {
  /** Bytes as they come (the command's output stream decodes them, a split character stays whole). */
  output(stream: TaskOutputStream, data: Buffer): void;
  progress(percent: number): void;
}

const PROGRESS = /^::progress\s+(\d+(?:\.\d+)?)%?\s*$/;
/** A progress line longer than this is not one; the partial-line buffer never grows past it. */
const MAX_LINE = 4096;

/** Keeps the last `cap` bytes written to it. */
class Tail {
  private parts: Buffer[] = [];
  private size = 0;
  constructor(private readonly cap: number) {}
  push(b: Buffer): void {
    this.parts.push(b);
    this.size += b.length;
    while (this.size - this.parts[0]!.length >= this.cap) this.size -= this.parts.shift()!.length;
  }
  text(): string {
    const all = Buffer.concat(this.parts);
    return all.subarray(Math.max(0, all.length - this.cap)).toString('utf8');
  }
}

/** Buffers one stream's output into chunks: size- or time-bounded, never unbounded. */
class ChunkBuffer {
  private parts: Buffer[] = [];
  private size = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly stream: TaskOutputStream,
    private readonly s: RunnerSettings,
    private readonly send: (stream: TaskOutputStream, data: Buffer) => void,
  ) {}

  push(b: Buffer): void {
    this.parts.push(b);
    this.size += b.length;
    if (this.size >= this.s.chunkBytes) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.s.flushMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.size === 0) return;
    const all = Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    // The command's output stream decodes per stream, so a character cut here arrives whole.
    for (let i = 0; i < all.length; i += this.s.chunkBytes) this.send(this.stream, all.subarray(i, i + this.s.chunkBytes));
  }
}

function childEnv(extra: Record<string, string> | undefined, p: TaskRunPayload): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // The agent's own STEWARD_* settings may hold an enrollment token.
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('STEWARD_')) env[k] = v;
  return { ...env, ...extra, STEWARD_TASK_ID: p.taskId, STEWARD_TASK_ATTEMPT_ID: p.attemptId };
}


/**
 * Runs one attempt: a program (exec) or a script file run by its interpreter, in a process
 * group of its own and a scratch directory, with the timeout. Output is streamed in chunks,
 * `::progress N` lines on stdout set the progress, CPU and memory are sampled. When the main
 * process exits, whatever it left running in its group is stopped too: a task's processes
 * never outlive its slot.
 */
export async function runTask(
  p: TaskRunPayload,
  signal: AbortSignal,
  workRoot: string,
  s: RunnerSettings,
  sampler: GroupSampler,
  orphans: OrphanRegistry,
  fence: RunFence,
  hooks: RunHooks,
): Promise<TaskRunResult> {
  const work = join(workRoot, p.attemptId);
  await mkdir(work, { recursive: true, mode: 0o700 });
  try {
    if (p.cwd !== undefined) {
      const st = await stat(p.cwd).catch(() => null);
      if (!st?.isDirectory()) throw new HandlerFailure('bad_cwd', `cwd ${p.cwd} is not an existing directory`, { details: { cwd: p.cwd } });
    }
    let file: string;
    let argv: string[];
    if (p.kind === 'script') {
      if (!p.interpreter || !p.script) throw new HandlerFailure('bad_payload', 'a script task needs interpreter and script');
      const script = join(work, 'script');
      await writeFile(script, p.script, { mode: 0o600 });
      file = p.interpreter;
      argv = [script, ...(p.args ?? [])];
    } else {
      if (!p.command) throw new HandlerFailure('bad_payload', 'an exec task needs command');
      file = p.command;
      argv = p.args ?? [];
    }
    if (signal.aborted) throw new HandlerFailure('aborted', 'aborted before the process was started');
    if (fence.signal.aborted) throw new HandlerFailure('fenced', `not started: ${String(fence.signal.reason)}`);
    return await spawnAndWait(p, file, argv, p.cwd ?? work, signal, s, sampler, orphans, fence, hooks);
  } finally {
    await rm(work, { recursive: true, force: true }).catch(() => {});
  }
}

function spawnAndWait(
  p: TaskRunPayload,
  file: string,
  argv: string[],
  cwd: string,
  signal: AbortSignal,
  s: RunnerSettings,
  sampler: GroupSampler,
  orphans: OrphanRegistry,
  fence: RunFence,
  hooks: RunHooks,
): Promise<TaskRunResult> {
  const started = performance.now();
  let child;
  try {
    child = spawn(file, argv, { cwd, env: childEnv(p.env, p), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new HandlerFailure('spawn_failed', `cannot start ${file}: ${(e as Error).message}`);
  }
  const pid = child.pid;
  // Written down first, before any await: see OrphanRegistry.add.
  if (pid !== undefined) orphans.add(pid, p.attemptId);
  const watchdog = pid === undefined ? null : startWatchdog(pid, s.killGraceMs);
  let sent = 0;
  let truncated = false;
  const tail = new Tail(s.tailBytes);
  const send = (stream: TaskOutputStream, data: Buffer) => {
    if (truncated) return;
    if (sent + data.length > s.maxOutputBytes) {
      truncated = true;
      return;
    }
    sent += data.length;
    hooks.output(stream, data);
  };
  const out = new ChunkBuffer('stdout', s, send);
  const err = new ChunkBuffer('stderr', s, send);
  let line = '';
  let lastProgress = -1;
  child.stdout!.on('data', (b: Buffer) => {
    tail.push(b);
    out.push(b);
    line += b.toString('utf8');
    const lines = line.split('\n');
    line = lines.pop()!.slice(-MAX_LINE);
    for (const l of lines) {
      const m = PROGRESS.exec(l.trim());
      if (!m) continue;
      const pct = Math.min(100, Math.max(0, Number(m[1])));
      if (pct !== lastProgress) {
        lastProgress = pct;
        out.flush(); // output before the progress line arrives first
        hooks.progress(pct);
      }
    }
  });
  child.stderr!.on('data', (b: Buffer) => {
    tail.push(b);
    err.push(b);
  });
  if (pid !== undefined) {
    sampler.watch(pid);
  }

  return new Promise<TaskRunResult>((resolve, reject) => {
    let stoppedBy: StopReason | 'fence' | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    const stopGroup = (graceMs = s.killGraceMs) => {
      if (pid === undefined) return;
      signalGroup(pid, 'SIGTERM');
      if (!killTimer) {
        killTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
        killTimer.unref();
      }
    };
    const stop = (why: StopReason | 'fence') => {
      if (stoppedBy) return;
      stoppedBy = why;
      stopGroup(why === 'fence' ? Math.min(s.killGraceMs, fence.graceMs()) : s.killGraceMs);
    };
    const timer = setTimeout(() => stop('timeout'), p.timeoutMs);
    const onAbort = () => stop('abort');
    const onFence = () => stop('fence');
    signal.addEventListener('abort', onAbort, { once: true });
    fence.signal.addEventListener('abort', onFence, { once: true });
    const unlisten = () => {
      signal.removeEventListener('abort', onAbort);
      fence.signal.removeEventListener('abort', onFence);
    };
    let exit: { code: number | null; sig: NodeJS.Signals | null } | null = null;

    child.on('error', (e: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return; // a running child reports through exit/close
      clearTimeout(timer);
      unlisten();
      reject(new HandlerFailure('spawn_failed', `cannot start ${file}: ${e.message}`, { details: { errno: e.code } }));
    });
    // The main process is gone: stop what it left in its group, so the pipes close too.
    child.once('exit', (code, sig) => {
      exit = { code, sig };
      if (pid !== undefined) sampler.exited(pid);
      if (pid !== undefined && signalGroup(pid, 0)) stopGroup();
    });
    child.once('close', async (code, sig) => {
      if (pid === undefined) return;
      clearTimeout(timer);
      unlisten();
      if (killTimer && !signalGroup(pid, 0)) clearTimeout(killTimer);
      out.flush();
      err.flush();
      orphans.remove(pid);
      watchdog?.release();
      const usage = await sampler.finish(pid);
      const exitCode = exit?.code ?? code;
      const exitSignal = exit?.sig ?? sig;
      const result: TaskRunResult = {
        exitCode,
        signal: exitSignal,
        durationMs: Math.round(performance.now() - started),
        cpuMs: usage.cpuMs,
        peakMemoryBytes: usage.peakMemoryBytes,
        outputBytes: sent,
        truncated,
        tail: tail.text(),
      };
      if (stoppedBy === 'fence') {
        // A node loss for the control plane (outcome.ts): the task is placed again, no retry used.
        reject(new HandlerFailure('fenced', `stopped by fencing: ${String(fence.signal.reason)}; process group killed`, { result }));
        return;
      }
      try {
        resolve(exitOutcome(result, { code: exitCode, signal: exitSignal, stoppedBy, timeoutMs: p.timeoutMs, abortMessage: 'cancelled; process group killed' }));
      } catch (e) {
        reject(e);
      }
    });
  });
}

/**
 * A task's process group is detached, so a kill -9 of the agent would leave it running until
 * the next agent start (orphans.ts), maybe after the control plane placed the task elsewhere.
 * This small shell in a group of its own holds a pipe from the agent: the agent's death closes
 * it, and the shell then stops the task's group (SIGTERM, SIGKILL after the grace). The agent
 * releases it with a line once the task has ended. Best effort: without `sh`, none is started.
 */
export function startWatchdog(pgid: number, killGraceMs: number): { release(): void; process: ChildProcess } | null {
  const script = 'read -r _ && exit 0; kill -TERM -"$1" 2>/dev/null; sleep "$2"; kill -KILL -"$1" 2>/dev/null; exit 0';
  try {
    const w = spawn('sh', ['-c', script, 'steward-task-watchdog', String(pgid), String(Math.max(1, Math.ceil(killGraceMs / 1000)))], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    w.on('error', () => {});
    w.stdin!.on('error', () => {});
    w.unref();
    (w.stdin as unknown as { unref?: () => void }).unref?.();
    return {
      process: w,
      release: () => {
        if (w.stdin!.writable) w.stdin!.end('\n');
      },
    };
  } catch {
    return null;
  }
}
