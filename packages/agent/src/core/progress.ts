import type { CommandProgress } from '@steward/protocol';

/** What a handler says about how far it is; the time is added when it is sent. */
export type ProgressReport = Omit<CommandProgress, 'at'>;

/** A running handler's reports go here (`ctx.progress`). */
export type ProgressSink = (report: ProgressReport) => void;

/** A terminal needs no more; the wire, the store and every event follower pay for each one. */
export const PROGRESS_EVERY_MS = 250;

/**
 * Passes on at most one report per `everyMs`, plus every phase change and every phase's end
 * (done reaching total), so a follower always sees where each phase started and that it
 * finished, whatever the throttle dropped in between.
 */
export class ProgressThrottle {
  private last: ProgressReport | undefined;
  private lastAt = 0;

  constructor(
    private readonly send: (progress: CommandProgress) => void,
    private readonly everyMs = PROGRESS_EVERY_MS,
    private readonly now: () => number = Date.now,
  ) {}

  readonly report: ProgressSink = (p) => {
    const now = this.now();
    const last = this.last;
    const newPhase = !last || last.phase !== p.phase;
    const ended = p.total !== null && p.done >= p.total && !(last && !newPhase && last.done === p.done && last.total === p.total);
    if (!newPhase && !ended && now - this.lastAt < this.everyMs) return;
    this.last = p;
    this.lastAt = now;
    this.send({ ...p, at: now });
  };
}
