import { processGroups, reapedChildrenCpuMs, rssBytes } from './proc.js';

/** What sampling saw of one process group. */
export interface Usage {
  cpuMs: number | null;
  peakMemoryBytes: number | null;
}

interface Watched {
  pgid: number;
  cpuMs: number;
  peak: number;
  seen: boolean;
  /** CPU the agent gained from reaping children when this group's main process ended. */
  reaped: number | null;
}

/**
 * Samples the CPU time and resident memory of the process groups of running tasks from /proc,
 * one scan per tick for all of them. CPU of a group at an instant is the sum over its live
 * members of their own plus reaped children's time, so nothing is counted twice; the highest
 * sum seen is kept. What runs after the last sample, or in processes shorter than a tick, is
 * missed: the figures are lower bounds (see docs/tasks.md). Where there is no /proc, null.
 */
export class GroupSampler {
  private readonly watched = new Map<number, Watched>();
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  /** The agent's reaped-children CPU at the last sample or exit. */
  private baseline: number | null = null;

  constructor(private readonly everyMs: number) {}

  watch(pgid: number): void {
    this.watched.set(pgid, { pgid, cpuMs: 0, peak: 0, seen: false, reaped: null });
    this.baseline ??= reapedChildrenCpuMs();
    if (!this.timer) {
      this.timer = setInterval(() => void this.sample(), this.everyMs);
      this.timer.unref();
    }
    // An early look catches short tasks.
    setTimeout(() => void this.sample(), Math.min(50, this.everyMs)).unref();
  }

  /**
   * Call from the child's `exit` event: Node has just waited for it, so the growth of the
   * agent's reaped-children CPU since the last sample is this tree's CPU after that sample
   * (plus that of any other child of the agent that ended in the same instant).
   */
  exited(pgid: number): void {
    const now = reapedChildrenCpuMs();
    const w = this.watched.get(pgid);
    if (now === null || this.baseline === null || !w) return;
    w.reaped = now - this.baseline;
    this.baseline = now;
  }

  /** One last sample (the group may still have members), then stop watching. */
  async finish(pgid: number): Promise<Usage> {
    await this.sample();
    const w = this.watched.get(pgid);
    this.watched.delete(pgid);
    if (this.watched.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
    if (!w || (!w.seen && w.reaped === null)) return { cpuMs: null, peakMemoryBytes: null };
    // The main process's total (with all it waited for) is in `reaped`; live members sampled last.
    return { cpuMs: Math.max(w.cpuMs, w.reaped ?? 0), peakMemoryBytes: w.seen ? w.peak : null };
  }

  async sample(): Promise<void> {
    if (this.busy || this.watched.size === 0) return;
    this.busy = true;
    try {
      this.baseline = reapedChildrenCpuMs() ?? this.baseline;
      const groups = await processGroups();
      for (const w of this.watched.values()) {
        const members = groups.get(w.pgid);
        if (!members?.length) continue;
        w.seen = true;
        w.cpuMs = Math.max(w.cpuMs, members.reduce((s, m) => s + m.cpuMs, 0));
        const rss = (await Promise.all(members.map((m) => rssBytes(m.pid)))).reduce((a, b) => a + b, 0);
        w.peak = Math.max(w.peak, rss);
      }
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.watched.clear();
  }
}
