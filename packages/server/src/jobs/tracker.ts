import type { JobState } from '@steward/protocol';
import type { AgentLink } from '../agents/link.js';
import type { Context } from '../core/context.js';
import { countUnfinishedForJob, jobCounts, releaseHeld, runningJobIds, transitionJob, getJobRow } from '../store/queries/jobs.js';
import { publishCommandState } from '../events/command-state.js';
import { isStoreUnavailable } from '../store/unavailable.js';

// Awaiting approval counts as active: the job is not over, and its batch is not free for more.
const ACTIVE = ['awaiting_approval', 'pending', 'dispatched', 'running'];
/** How soon jobs whose update met an unreachable store are tried again. */
const STORE_RETRY_MS = 1000;
/**
 * A running job's counts (`job.state` progress) are read and published at most this often;
 * between two, a burst of results costs only an index count of what is left, and the job ends
 * the moment nothing is. The last results of a burst are published when the interval is over.
 */
export const PROGRESS_INTERVAL_MS = 100;

/**
 * Keeps each job's aggregate current. Command ends are coalesced per job, so a fan-out to
 * thousands of nodes costs one count query per burst, not one per result.
 */
export class JobTracker {
  private readonly dirty = new Set<string>();
  private running: Promise<void> | null = null;
  /** When each running job's counts were last published, and the trailing update set after a skipped one. */
  private readonly published = new Map<string, number>();
  private readonly trailing = new Map<string, NodeJS.Timeout>();
  /** Jobs whose next update publishes whatever the interval says (their trailing update is due). */
  private readonly due = new Set<string>();

  constructor(
    private readonly ctx: Context,
    private readonly link: Pick<AgentLink, 'deliver'>,
  ) {}

  touch(jobId: string): void {
    this.dirty.add(jobId);
    if (!this.running) this.running = this.drain();
  }

  /** After a restart: catch up on jobs whose commands ended while no one was watching. */
  async recover(): Promise<void> {
    for (const id of await runningJobIds(this.ctx.store.db)) this.touch(id);
    await this.idle();
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    // Yield once so results that arrive in the same tick are counted together.
    await new Promise((r) => setImmediate(r));
    let retry = false;
    try {
      while (this.dirty.size) {
        const ids = [...this.dirty];
        this.dirty.clear();
        for (const [i, id] of ids.entries()) {
          try {
            await this.update(id);
          } catch (err) {
            if (!isStoreUnavailable(err)) throw err;
            // The store is down (a PostgreSQL restart). These jobs' commands may all have
            // ended: dropping them would leave each job `running` for good (the chaos soak
            // found one), so they are tried again shortly.
            for (const rest of ids.slice(i)) this.dirty.add(rest);
            this.ctx.log.warn({ err, jobs: this.dirty.size }, 'updating jobs: the store does not answer; trying again shortly');
            retry = true;
            return;
          }
        }
      }
    } catch (err) {
      this.ctx.log.error({ err }, 'updating a job failed');
    } finally {
      this.running = null;
      if (retry) setTimeout(() => this.dirty.size && !this.running && (this.running = this.drain()), STORE_RETRY_MS).unref();
    }
  }

  private async update(jobId: string): Promise<void> {
    const db = this.ctx.store.db;
    const job = await getJobRow(db, jobId);
    if (!job || job.state !== 'running') return this.forget(jobId);
    // Batched jobs release their next commands by the counts: always read them.
    const last = this.published.get(jobId);
    const wait = last === undefined || this.due.has(jobId) || job.batch_size ? 0 : last + PROGRESS_INTERVAL_MS - this.ctx.now();
    this.due.delete(jobId);
    if (wait > 0 && (await countUnfinishedForJob(db, jobId)) > 0) return this.later(jobId, wait);
    // A job cancelled or ended elsewhere leaves its entry behind; the map stays bounded anyway.
    if (this.published.size >= 10_000) this.published.clear();
    this.published.set(jobId, this.ctx.now());
    let counts = await jobCounts(db, jobId);
    const active = ACTIVE.reduce((n, s) => n + (counts[s] ?? 0), 0);
    if (job.batch_size && (counts.queued ?? 0) > 0 && active < job.batch_size) {
      const released = await releaseHeld(db, jobId, job.batch_size - active, this.ctx.now());
      const byNode = new Map<string, typeof released>();
      for (const r of released) byNode.set(r.node_id, [...(byNode.get(r.node_id) ?? []), r]);
      for (const [nodeId, rows] of byNode) this.link.deliver(nodeId, rows);
      for (const r of released) publishCommandState(this.ctx, r);
      counts = await jobCounts(db, jobId);
    }
    const unfinished = [...ACTIVE, 'queued'].reduce((n, s) => n + (counts[s] ?? 0), 0);
    let state: JobState = 'running';
    if (unfinished === 0) {
      const to: JobState = (counts.succeeded ?? 0) === job.total ? 'succeeded' : 'failed';
      const moved = await transitionJob(db, jobId, to, this.ctx.now());
      this.forget(jobId);
      if (!moved) return;
      state = to;
    }
    this.ctx.bus.publish({ kind: 'job.state', at: this.ctx.now(), jobId, state, counts });
  }

  /** The counts skipped now are published once the interval is over (if no later result did it). */
  private later(jobId: string, ms: number): void {
    if (this.trailing.has(jobId)) return;
    const timer = setTimeout(() => {
      this.trailing.delete(jobId);
      this.due.add(jobId);
      this.touch(jobId);
    }, ms);
    timer.unref();
    this.trailing.set(jobId, timer);
  }

  private forget(jobId: string): void {
    this.published.delete(jobId);
    this.due.delete(jobId);
    clearTimeout(this.trailing.get(jobId));
    this.trailing.delete(jobId);
  }
}
