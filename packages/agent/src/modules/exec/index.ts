import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ExecRunPayload } from '@steward/protocol/modules';
import { exitOutcome, signalGroup, type StopReason } from '../../lib/process-group.js';
import { defineCommand, defineModule, HandlerFailure, type CommandContext } from '../types.js';

/** Time a process group gets between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 2000;
export { ExecRunPayload };

export interface ExecResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  durationMs: number;
}

/**
 * Keeps the last `cap` bytes of a stream (its whole output goes out streamed, through
 * ctx.output), and keeps draining, so the child never blocks on a full pipe.
 */
class TailCapture {
  private chunks: Buffer[] = [];
  private kept = 0;
  truncated = false;

  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.kept += chunk.length;
    // Drop whole chunks from the front while the rest still covers the cap.
    while (this.kept - this.chunks[0]!.length >= this.cap) {
      this.kept -= this.chunks.shift()!.length;
      this.truncated = true;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    if (all.length <= this.cap) return all.toString('utf8');
    this.truncated = true;
    let start = all.length - this.cap;
    // Start on a character, not inside one.
    while (start < all.length && (all[start]! & 0xc0) === 0x80) start++;
    return all.subarray(start).toString('utf8');
  }
}

function shellPath(): string {
  // Termux has no /bin/sh; its sh is on PATH.
  return existsSync('/bin/sh') ? '/bin/sh' : 'sh';
}

/** The agent's environment minus its own STEWARD_* settings, which may hold an enrollment token. */
function childEnv(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('STEWARD_')) env[k] = v;
  return { ...env, ...extra };
}


async function checkCwd(cwd: string): Promise<void> {
  const st = await stat(cwd).catch(() => null);
  if (!st?.isDirectory()) throw new HandlerFailure('bad_cwd', `cwd ${cwd} is not an existing directory`, { details: { cwd } });
}

export async function runCommand(payload: ExecRunPayload, ctx: CommandContext): Promise<ExecResult> {
  if (payload.shell && !ctx.config.exec.allowShell) {
    throw new HandlerFailure('shell_not_allowed', 'shell mode is disabled on this node (exec.allowShell is false)');
  }
  if (payload.cwd !== undefined) await checkCwd(payload.cwd);
  if (ctx.signal.aborted) throw new HandlerFailure('aborted', 'aborted before the process was started');

  const args = payload.args ?? [];
  const file = payload.shell ? shellPath() : payload.command;
  const argv = payload.shell ? ['-c', payload.command, 'sh', ...args] : args;
  const started = performance.now();
  let child;
  try {
    // detached: a process group of its own, so a timeout or cancel reaches every descendant.
    child = spawn(file, argv, {
      cwd: payload.cwd,
      env: childEnv(payload.env),
      detached: true,
      stdio: [payload.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
  } catch (e) {
    throw new HandlerFailure('spawn_failed', `cannot start ${file}: ${(e as Error).message}`);
  }
  const stdout = new TailCapture(ctx.config.exec.maxOutputBytes);
  const stderr = new TailCapture(ctx.config.exec.maxOutputBytes);
  child.stdout!.on('data', (b: Buffer) => {
    ctx.output.write('stdout', b);
    stdout.push(b);
  });
  child.stderr!.on('data', (b: Buffer) => {
    ctx.output.write('stderr', b);
    stderr.push(b);
  });
  if (payload.input !== undefined) {
    child.stdin!.on('error', () => {}); // EPIPE when the child exits without reading; not our failure
    child.stdin!.end(payload.input);
  }

  return new Promise<ExecResult>((resolve, reject) => {
    let stoppedBy: StopReason | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: StopReason) => {
      if (stoppedBy || child.pid === undefined) return;
      stoppedBy = why;
      signalGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), KILL_GRACE_MS);
      killTimer.unref();
    };
    const timer = payload.timeoutMs === undefined ? undefined : setTimeout(() => stop('timeout'), payload.timeoutMs);
    const onAbort = () => stop('abort');
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      // Keep the SIGKILL pending only while the group still has members.
      if (killTimer && child.pid !== undefined && !signalGroup(child.pid, 0)) clearTimeout(killTimer);
    };

    child.on('error', (e: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return; // a running child reports through 'close'
      cleanup();
      reject(new HandlerFailure('spawn_failed', `cannot start ${file}: ${e.message}`, { details: { errno: e.code } }));
    });
    child.once('close', (code, signal) => {
      if (child.pid === undefined) return;
      cleanup();
      const result: ExecResult = {
        exitCode: code,
        signal,
        stdout: stdout.text(),
        stderr: stderr.text(),
        truncated: stdout.truncated || stderr.truncated,
        durationMs: Math.round(performance.now() - started),
      };
      try {
        resolve(exitOutcome(result, { code, signal, stoppedBy, timeoutMs: payload.timeoutMs, abortMessage: 'aborted; process group killed' }));
      } catch (e) {
        reject(e);
      }
    });
  });
}

const run = defineCommand({
  type: 'exec.run',
  description: 'Runs a program (no shell unless shell: true), streams its output, and returns its exit code and the tail of its output.',
  payload: ExecRunPayload,
  safeToRerun: false,
  handler: runCommand,
});

export default defineModule({
  name: 'exec',
  description: 'Run programs and scripts on the node.',
  commands: [run],
});
