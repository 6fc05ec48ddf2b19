import { HandlerFailure } from '../core/errors.js';

/** Signals every process of a group (`detached` children lead their own); false once none is left. */
export function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

export type StopReason = 'timeout' | 'abort';

/**
 * How a child run ended, as the command's outcome: the result when it exited 0, else a
 * HandlerFailure that still carries the result (output, exit code) with a stable code.
 */
export function exitOutcome<R>(
  result: R,
  exit: { code: number | null; signal: NodeJS.Signals | null; stoppedBy: StopReason | null; timeoutMs: number | undefined; abortMessage: string },
): R {
  if (exit.stoppedBy === 'timeout') {
    throw new HandlerFailure('timed_out', `timed out after ${exit.timeoutMs} ms; process group killed`, { result, state: 'timed_out' });
  }
  if (exit.stoppedBy === 'abort') throw new HandlerFailure('aborted', exit.abortMessage, { result });
  if (exit.code === null) throw new HandlerFailure('killed', `killed by ${exit.signal}`, { result });
  if (exit.code !== 0) throw new HandlerFailure('nonzero_exit', `exited with code ${exit.code}`, { result });
  return result;
}
