import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
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
