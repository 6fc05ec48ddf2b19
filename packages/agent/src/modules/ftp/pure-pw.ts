import { constants } from 'node:fs';
import { access, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { runProgram } from '../../lib/run-program.js';
import { HandlerFailure } from '../types.js';
import type { FtpSettings } from './settings.js';

export async function executable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/**
 * Runs pure-pw on the configured passwd file. A password goes on stdin (pure-pw asks for it twice),
 * never on argv; pure-pw's output is only its prompts and errors, so it holds no password either.
 */
export async function purePw(s: FtpSettings, args: string[], opts: { password?: string; signal?: AbortSignal } = {}): Promise<string> {
  const input = opts.password === undefined ? '' : `${opts.password}\n${opts.password}\n`;
  const out = await runProgram(s.purePw, args, {
    input,
    signal: opts.signal,
    timeoutMs: s.timeoutMs,
    // pure-pw reads these when -f/-F are missing; set them too so no verb can fall back to /etc.
    env: { ...process.env, PURE_PASSWDFILE: s.passwdFile, PURE_DBFILE: s.dbFile },
  });
  if (out.code !== 0) {
    const said = `${out.stderr}\n${out.stdout}`
      .split('\n')
      .map((l) => l.replace(/^(Password|Enter it again): ?/g, '').trim())
      .filter(Boolean)
      .join(' ');
    throw new HandlerFailure('pure_pw_failed', `pure-pw ${args[0]} failed (exit ${out.code ?? out.signal}): ${said || 'no message'}`, {
      details: { verb: args[0], exitCode: out.code },
    });
  }
  return out.stdout;
}

/** Rebuilds the PureDB file pure-ftpd reads; pure-pw writes it to a temp file and renames it. */
export async function mkdb(s: FtpSettings, signal?: AbortSignal): Promise<void> {
  await purePw(s, ['mkdb', s.dbFile, '-f', s.passwdFile], { signal });
}

/**
 * Makes an empty PureDB (and an empty passwd file) when there is none, so pure-ftpd can be
 * pointed at it (`-l puredb:FILE`) before the first user exists; true when it made one.
 */
export async function ensureDb(s: FtpSettings, signal?: AbortSignal): Promise<boolean> {
  if (await access(s.dbFile).then(() => true, () => false)) return false;
  await mkdir(dirname(s.passwdFile), { recursive: true, mode: 0o755 });
  await mkdir(dirname(s.dbFile), { recursive: true, mode: 0o755 });
  // Append mode: an existing passwd file (users but no database yet) is left as it is.
  await (await open(s.passwdFile, 'a', 0o600)).close();
  await mkdb(s, signal);
  return true;
}
