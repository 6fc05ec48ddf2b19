import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { constants, homedir } from 'node:os';
import type { IPty } from 'node-pty';
import type { ShellSessionPayload, ShellSessionResult } from '@steward/protocol/modules';
import { DEFAULT_SHELL_IDLE_TIMEOUT_MS } from '@steward/protocol/modules';
import { HandlerFailure, type CommandContext } from '../types.js';
import { InputOrder } from './input-order.js';
import { signalSession } from './session-kill.js';
import type { ShellSettings } from './settings.js';

/** Time a session's processes get between SIGHUP (the terminal hung up) and SIGKILL. */
export const HANGUP_GRACE_MS = 2000;

/** The agent's environment minus its own STEWARD_* settings, which may hold an enrollment token. */
function sessionEnv(term: string, extra: Record<string, string> | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('STEWARD_')) env[k] = v;
  return { ...env, TERM: term, ...extra };
}

/** The login shell: the setting, else $SHELL, else /bin/sh (Termux: sh on PATH). */
function loginShell(settings: ShellSettings): string[] {
  const shell = settings.shell ?? process.env.SHELL ?? (existsSync('/bin/sh') ? '/bin/sh' : 'sh');
  return [shell, '-l'];
}

function signalName(n: number): string | null {
  if (!n) return null;
  return Object.entries(constants.signals).find(([, v]) => v === n)?.[0] ?? String(n);
}

async function loadPty(): Promise<typeof import('node-pty')> {
  try {
    return await import('node-pty');
  } catch (e) {
    throw new HandlerFailure('pty_unavailable', `this agent cannot open terminals: node-pty did not load (${(e as Error).message})`);
  }
}

/**
 * Runs one interactive session: a PTY whose output streams to the control plane and whose input
 * and size come from the operator. Ends when the program exits, on cancel or timeout (the
 * session's processes are hung up, then killed), or after `idleTimeoutMs` with neither input nor
 * output. Several run at once; each has its own terminal and session id.
 */
export async function runSession(payload: ShellSessionPayload, ctx: CommandContext, settings: ShellSettings): Promise<ShellSessionResult> {
  // Terminal output is the command's output stream: 'pty', and 'resize' as "COLSxROWS".
  const output = ctx.output;
  if (!settings.enabled) throw new HandlerFailure('shell_disabled', 'interactive shells are turned off on this node (shell.enabled is false)');
  const cwd = payload.cwd ?? homedir();
  const st = await stat(cwd).catch(() => null);
  if (!st?.isDirectory()) throw new HandlerFailure('bad_cwd', `cwd ${cwd} is not an existing directory`, { details: { cwd } });
  const { spawn } = await loadPty();
  if (ctx.signal.aborted) throw new HandlerFailure('aborted', 'aborted before the terminal was opened');

  const [file, ...args] = payload.command ?? loginShell(settings);
  const term = payload.term ?? 'xterm-256color';
  const idleMs = Math.min(payload.idleTimeoutMs ?? DEFAULT_SHELL_IDLE_TIMEOUT_MS, settings.maxIdleTimeoutMs);
  const started = performance.now();
  let size = `${payload.cols}x${payload.rows}`;
  let p: IPty;
  try {
    p = spawn(file!, args, { name: term, cols: payload.cols, rows: payload.rows, cwd, env: sessionEnv(term, payload.env) });
  } catch (e) {
    throw new HandlerFailure('spawn_failed', `cannot start ${file}: ${(e as Error).message}`);
  }
  // The size comes first, so a replay (or a late viewer) knows the screen the output was drawn on.
  output.write('resize', size);
  ctx.log.info({ pid: p.pid, file, cols: payload.cols, rows: payload.rows }, 'shell session opened');

  return new Promise<ShellSessionResult>((resolve, reject) => {
    let endedBy: 'idle' | 'abort' | null = null;
    let lastActive = Date.now();
    let killTimer: NodeJS.Timeout | undefined;
    const order = new InputOrder((data) => {
      lastActive = Date.now();
      p.write(data);
    });
    const hangUp = (why: 'idle' | 'abort') => {
      if (endedBy) return;
      endedBy = why;
      signalSession(p.pid, 'SIGHUP');
      killTimer = setTimeout(() => signalSession(p.pid, 'SIGKILL'), HANGUP_GRACE_MS);
      killTimer.unref();
    };
    const idleCheck = () => {
      const left = lastActive + idleMs - Date.now();
      if (left > 0) return void (idleTimer = setTimeout(idleCheck, left));
      output.write('pty', `\r\n[steward: session closed after ${Math.round(idleMs / 1000)} s without input or output]\r\n`);
      hangUp('idle');
    };
    let idleTimer = setTimeout(idleCheck, idleMs);
    const onAbort = () => hangUp('abort');
    ctx.signal.addEventListener('abort', onAbort, { once: true });

    p.onData((data) => {
      lastActive = Date.now();
      output.write('pty', data);
    });
    ctx.session.attach({
      input: (seq, data) => order.push(seq, data),
      resize: (cols, rows) => {
        const next = `${cols}x${rows}`;
        if (next === size || endedBy) return;
        size = next;
        try {
          p.resize(cols, rows);
        } catch {
          return; // the terminal closed meanwhile
        }
        output.write('resize', next);
      },
    });
    p.onExit(({ exitCode, signal }) => {
      clearTimeout(idleTimer);
      ctx.signal.removeEventListener('abort', onAbort);
      order.close();
      // Keep the SIGKILL pending only while the session still has members.
      if (killTimer && !signalSession(p.pid, 0)) clearTimeout(killTimer);
      const sig = signalName(signal ?? 0);
      const result: ShellSessionResult = {
        exitCode: sig ? null : exitCode,
        signal: sig,
        ...(endedBy === 'idle' ? { endedBy: 'idle' } : {}),
        durationMs: Math.round(performance.now() - started),
      };
      ctx.log.info({ exitCode: result.exitCode, signal: sig, endedBy }, 'shell session ended');
      if (endedBy === 'idle') return reject(new HandlerFailure('idle_timeout', `closed after ${idleMs} ms without input or output`, { result }));
      if (endedBy === 'abort') return reject(new HandlerFailure('aborted', 'the session was stopped; its processes were hung up', { result }));
      if (sig) return reject(new HandlerFailure('killed', `killed by ${sig}`, { result }));
      if (exitCode !== 0) return reject(new HandlerFailure('nonzero_exit', `exited with code ${exitCode}`, { result }));
      resolve(result);
    });
  });
}
