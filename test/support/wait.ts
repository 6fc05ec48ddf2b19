import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';

export interface WaitOptions {
  /** Give up after this long (default 15 s). */
  timeoutMs?: number;
  /** Pause between checks (default 50 ms). */
  intervalMs?: number;
}

type Falsy = undefined | null | false | 0 | '';

/**
 * The one polling helper of the tests: calls `check` until it returns a truthy value and returns
 * that value. Bounded, so a broken test ends by itself: after `timeoutMs` (one last check at the
 * deadline) it throws, naming what was awaited and the last value or error `check` produced.
 * A check that throws is retried (the control plane may not answer yet); its error is kept for
 * the message. `what` may be a function, to describe the state at the moment of the timeout.
 */
export async function waitFor<T>(
  what: string | (() => string),
  check: () => T | Falsy | Promise<T | Falsy>,
  { timeoutMs = 15_000, intervalMs = 50 }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: { value: unknown } | { error: unknown } | undefined;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as T;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
  const seen = !last ? '' : 'error' in last ? `; last error: ${String(last.error)}` : `; last value: ${inspect(last.value, { depth: 3, breakLength: Infinity })}`;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}${seen}`);
}

/** True once `pid` has exited (a zombie counts: it runs no more code). Linux /proc. */
export function processGone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}
