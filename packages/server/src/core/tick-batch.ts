interface Pending<I, O> {
  item: I;
  resolve(v: O): void;
  reject(e: unknown): void;
}

/**
 * Gathers calls and hands them to `flush` together, at most `max` at a time: many sockets'
 * messages cost one query instead of one each. By default it gathers one event-loop turn; with
 * `windowMs` it waits that long after the first call, so calls that arrive spread out (heartbeats
 * of a fleet at a steady rate, one per turn) still share a query, at the price of that delay.
 * A full batch goes at once. `flush` answers one result per item, in order; if it throws, every
 * item of that batch fails with its error (callers treat it as their own store failure).
 */
export class TickBatch<I, O> {
  private queue: Pending<I, O>[] = [];
  private scheduled = false;

  private timer: NodeJS.Timeout | undefined;
  private readonly max: number;
  private readonly windowMs: number;

  constructor(
    private readonly flush: (items: I[]) => Promise<O[]>,
    o: { max?: number; windowMs?: number } = {},
  ) {
    this.max = o.max ?? 1000;
    this.windowMs = o.windowMs ?? 0;
  }

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule(this.queue.length >= this.max);
    });
  }

  private schedule(now: boolean): void {
    if (now && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.scheduled = false;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate, not a microtask: it runs after every socket read of this turn's poll phase.
    if (now || this.windowMs === 0) setImmediate(() => void this.run());
    else this.timer = setTimeout(() => void this.run(), this.windowMs).unref(); // never what keeps a stopping process up
  }

  private async run(): Promise<void> {
    this.scheduled = false;
    this.timer = undefined;
    const batch = this.queue.splice(0, this.max);
    if (this.queue.length) this.schedule(this.queue.length >= this.max);
    if (batch.length === 0) return;
    try {
      const out = await this.flush(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(out[i]!));
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }
}
