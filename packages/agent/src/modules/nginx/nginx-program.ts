import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { livePidFrom } from '../../lib/pid-file.js';
import { ProgramMissingError, runProgram } from '../../lib/run-program.js';
import { HandlerFailure } from '../types.js';
import type { NginxSettings } from './settings.js';

/** The `-c`/`-p` pair every nginx invocation gets, so a private instance is addressed as the real one. */
function instanceArgs(s: NginxSettings): string[] {
  return ['-c', s.configFile, ...(s.prefix ? ['-p', s.prefix] : [])];
}

export async function isInstalled(s: NginxSettings): Promise<boolean> {
  return access(s.binary, constants.X_OK).then(
    () => true,
    () => false,
  );
}

export async function requireInstalled(s: NginxSettings): Promise<void> {
  if (!(await isInstalled(s))) {
    throw new HandlerFailure('nginx_not_installed', `nginx is not installed here (${s.binary} is missing or not executable; see nginx.binary in the agent config)`);
  }
}

export async function version(s: NginxSettings, signal?: AbortSignal): Promise<string | null> {
  try {
    const out = await runProgram(s.binary, ['-v'], { signal, timeoutMs: 10_000 });
    return /nginx\/(\S+)/.exec(out.stderr + out.stdout)?.[1] ?? null;
  } catch (e) {
    if (e instanceof ProgramMissingError) return null;
    throw e;
  }
}

/** `nginx -t`: ok, and nginx's own words (its [emerg] lines say what is wrong and where). */
export async function testConfig(s: NginxSettings, signal?: AbortSignal): Promise<{ ok: boolean; output: string }> {
  const out = await runProgram(s.binary, ['-t', '-q', ...instanceArgs(s)], { signal, timeoutMs: s.testTimeoutMs });
  return { ok: out.code === 0, output: (out.stderr + out.stdout).trim() };
}

/** The first line nginx marks as an error, for a message; the whole output goes in details. */
export function headline(output: string): string {
  const line = output.split('\n').find((l) => /\[(emerg|alert|crit|error)\]/.test(l));
  return (line ?? output.split('\n')[0] ?? 'nginx -t failed').replace(/^nginx: /, '');
}

/** The master's pid when the pid file names a live process. */
export function masterPid(s: NginxSettings): Promise<number | null> {
  return livePidFrom(s.pidFile);
}

/**
 * Asks the running master to re-read its config (SIGHUP, what `nginx -s reload` sends). A master
 * that is not running has nothing to reload: it reads the files when it starts.
 */
export async function reload(s: NginxSettings): Promise<{ reloaded: boolean; running: boolean }> {
  const pid = await masterPid(s);
  if (pid === null) return { reloaded: false, running: false };
  process.kill(pid, 'SIGHUP');
  return { reloaded: true, running: true };
}
