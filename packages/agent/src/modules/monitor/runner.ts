import { nextCheckProgress, type CheckProgress, type CheckStatus } from '@steward/protocol';
import { describeCheck, type ResolvedCheck } from './checks.js';
import { probeDisk } from './probes/disk.js';
import { probeHttp } from './probes/http.js';
import { probeProcess } from '../../lib/process-probe.js';
import { safely, type ProbeResult } from './probes/probe.js';
import { probeTcp } from './probes/tcp.js';

export function probe(check: ResolvedCheck): Promise<ProbeResult> {
  return safely(async () => {
    switch (check.kind) {
      case 'disk':
        return probeDisk(check);
      case 'process':
        return probeProcess(check);
      case 'tcp':
        return probeTcp(check);
      case 'http':
        return probeHttp(check);
    }
  });
}

export type Transition = { check: CheckStatus; transition: 'fired' | 'resolved'; reason?: string };

/**
 * One check on its own timer: probe, step the hysteresis, and tell `onEdge` when it starts or
 * stops firing. Probes of one check never overlap: the next is scheduled after one ends.
 */
export class CheckRunner {
  private progress: CheckProgress = { state: 'unknown', failures: 0, successes: 0 };
  private since = Date.now();
  private lastRunAt: number | null = null;
  private message = 'not run yet';
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    readonly check: ResolvedCheck,
    private readonly onEdge: (t: Transition) => void,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.schedule(0);
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce().finally(() => {
        this.running = null;
        this.schedule(this.check.intervalMs);
      });
    }, delay);
  }

  /** One probe and its step; public so tests can drive a check without timers. */
  async runOnce(): Promise<void> {
    const result = await probe(this.check);
    if (this.stopped) return;
    this.lastRunAt = this.now();
    this.message = result.message;
    const { next, edge } = nextCheckProgress(this.progress, result.ok, this.check);
    if (next.state !== this.progress.state) this.since = this.lastRunAt;
    this.progress = next;
    if (edge) this.onEdge({ check: this.status(), transition: edge });
  }

  status(): CheckStatus {
    return {
      id: this.check.id,
      kind: this.check.kind,
      severity: this.check.severity,
      state: this.progress.state,
      failures: this.progress.failures,
      successes: this.progress.successes,
      since: this.since,
      lastRunAt: this.lastRunAt,
      message: this.message,
      summary: describeCheck(this.check),
    };
  }

  /** True while the check's alert should be open. */
  get alerting(): boolean {
    return this.progress.state === 'firing' || this.progress.state === 'recovering';
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
