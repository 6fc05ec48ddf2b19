import type { TaskFence } from '@steward/protocol';

/** Heartbeat send times kept for their acks; older ones are dropped (their acks would not move the clock much). */
const MAX_PENDING = 64;

/**
 * The agent's half of task fencing (docs/tasks.md, "Fencing"; the control plane's half is
 * packages/server/src/core/task-fence.ts). It remembers when the last message the control plane
 * acknowledged was sent: a heartbeat answered with `heartbeat.ack`, or the hello answered with
 * a welcome. Both are acknowledged only once the node's last-seen time was stored, which is at
 * or after their sending. When `afterMs` passes with no newer acknowledgement, `expired` is
 * called (and again on every check while it stays expired, so a task started meanwhile is
 * stopped too): the agent stops its tasks then, before the control plane may place them again
 * (`afterMs + killGraceMs + marginMs` after it last heard from us).
 *
 * Durations only, on the monotonic clock: the two sides share no wall clock.
 */
export class FenceClock {
  private fence: TaskFence | null = null;
  /** Monotonic send time of the newest acknowledged message. */
  private ackedAt = 0;
  private helloAt: number | null = null;
  private readonly sent = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly expired: (fence: TaskFence, silentMs: number) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The fence in force (null: the control plane does not acknowledge, so nothing is fenced). */
  get current(): TaskFence | null {
    return this.fence;
  }

  helloSent(): void {
    this.helloAt = this.now();
  }

  /** A welcome: it acknowledges the hello. No `fence`: a control plane without fencing, nothing is stopped. */
  welcomed(fence: TaskFence | undefined): void {
    if (this.helloAt !== null) this.ackedAt = Math.max(this.ackedAt, this.helloAt);
    this.helloAt = null;
    this.sent.clear();
    this.configure(fence);
  }

  /** A new fence (the heartbeat interval changed): it applies from now on. */
  configure(fence: TaskFence | undefined): void {
    this.fence = fence ?? null;
    this.arm();
  }

  heartbeatSent(seq: number): void {
    this.sent.set(seq, this.now());
    if (this.sent.size > MAX_PENDING) this.sent.delete(this.sent.keys().next().value!);
  }

  acked(seq: number): void {
    const at = this.sent.get(seq);
    if (at === undefined) return;
    this.ackedAt = Math.max(this.ackedAt, at);
    for (const s of this.sent.keys()) if (s <= seq) this.sent.delete(s);
    this.arm();
  }

  /** How long since the newest acknowledged message was sent. */
  silentMs(): number {
    return this.now() - this.ackedAt;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.fence = null;
  }

  /** Fires at the fence time, then every tenth of it while still expired. */
  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const f = this.fence;
    if (!f) return;
    this.wait(Math.max(0, this.ackedAt + f.afterMs - this.now()), f);
  }

  private wait(ms: number, f: TaskFence): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.fence !== f) return;
      const silent = this.silentMs();
      if (silent < f.afterMs) return this.arm();
      this.expired(f, silent);
      this.wait(Math.max(50, Math.round(f.afterMs / 10)), f);
    }, ms);
    this.timer.unref();
  }
}
