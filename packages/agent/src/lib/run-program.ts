import { spawn } from 'node:child_process';
import { AgentError } from '../core/errors.js';

export interface ProgramOutput {
  /** Exit code, or null when the program was ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class ProgramMissingError extends AgentError {
  constructor(readonly binary: string) {
    super('program_missing', `${binary} is not installed (not found or not executable)`, { binary });
  }
}

const MAX_OUTPUT = 256 * 1024;

/**
 * Runs a program without a shell and collects its output (bounded). `input` is written to stdin,
 * which is how secrets reach a child: never on argv, where `ps` would show them.
 */
export function runProgram(
  binary: string,
  args: string[],
  opts: { input?: string; signal?: AbortSignal; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<ProgramOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: opts.signal,
      timeout: opts.timeoutMs ?? 60_000,
      env: opts.env ?? process.env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout.length < MAX_OUTPUT ? (stdout += d) : undefined));
    child.stderr.on('data', (d: Buffer) => (stderr.length < MAX_OUTPUT ? (stderr += d) : undefined));
    child.stdin.on('error', () => {}); // a program that exits without reading its stdin is not our error
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'EACCES') reject(new ProgramMissingError(binary));
      else reject(e);
    });
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}
