/**
 * Bounds the audit rows refused requests (401, 403, 429) can make, so a flood of bad tokens cannot
 * fill the disk: per source, status and action the first refusal of each minute is written, and
 * across all sources at most MAX_ROWS_PER_WINDOW such rows a minute. Refusals left out are
 * counted, and the next refusal row written carries that count (`summary.notLogged`), so the
 * log still says how many there were. Counts are per replica and in memory: a restart loses at
 * most the count since the last such row, never a row of an accepted action.
 */
export const FAILURE_WINDOW_MS = 60_000;
export const MAX_ROWS_PER_WINDOW = 120;

export class FailureCoalescer {
  private windowStart = Number.NEGATIVE_INFINITY;
  private seen = new Set<string>();
  private notLogged = 0;

  /** Whether to write this refusal now; when yes, how many refusals were left out before it. */
  admit(key: string, now: number): { write: false } | { write: true; notLogged: number } {
    if (now - this.windowStart >= FAILURE_WINDOW_MS) {
      this.windowStart = now;
      this.seen = new Set();
    }
    // The set is cleared every minute and holds at most MAX_ROWS_PER_WINDOW keys.
    if (this.seen.has(key) || this.seen.size >= MAX_ROWS_PER_WINDOW) {
      this.notLogged++;
      return { write: false };
    }
    this.seen.add(key);
    const notLogged = this.notLogged;
    this.notLogged = 0;
    return { write: true, notLogged };
  }
}
