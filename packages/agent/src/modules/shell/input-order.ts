/** Out-of-order input waits this long for what it skipped before the gap is given up. */
export const GAP_WAIT_MS = 500;
/** More held pieces than this and the gap is given up at once (bounded memory). */
const MAX_HELD = 256;

/**
 * Applies a session's input in `seq` order, each seq once. Input normally arrives in order (one
 * request at a time, one socket); through another replica's relay two may swap, so a piece after
 * a gap waits briefly for the missing one, then the gap is skipped (that input was lost).
 */
export class InputOrder {
  private last = -1;
  private readonly held = new Map<number, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly apply: (data: string) => void,
    private readonly gapWaitMs = GAP_WAIT_MS,
  ) {}

  push(seq: number, data: string): void {
    if (seq <= this.last || this.held.has(seq)) return; // a repeat
    this.held.set(seq, data);
    if (this.held.size > MAX_HELD) this.skipGap();
    this.drain();
    this.arm();
  }

  /** While something waits behind a gap, a timer gives the gap up. */
  private arm(): void {
    if (this.held.size === 0 || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.skipGap();
      this.drain();
      this.arm();
    }, this.gapWaitMs);
    this.timer.unref();
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.held.clear();
  }

  private skipGap(): void {
    if (this.held.size > 0) this.last = Math.min(...this.held.keys()) - 1;
  }

  private drain(): void {
    for (let next = this.held.get(this.last + 1); next !== undefined; next = this.held.get(this.last + 1)) {
      this.held.delete(this.last + 1);
      this.last++;
      this.apply(next);
    }
    if (this.held.size === 0) this.close();
  }
}
