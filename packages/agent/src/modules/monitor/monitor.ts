import type { Logger } from 'pino';
import type { CheckInput, ChecksSource, MonitorChecksResult, MonitorReport } from '@steward/protocol';
import { checkFingerprint, resolveChecks, type ResolvedCheck } from './checks.js';
import { CheckRunner, type Transition } from './runner.js';
import type { SavedCheckSet } from './saved-set.js';

/**
 * The node's running checks. They come from the config file's `monitor.checks`, unless the
 * control plane sent a set (`monitor.checks.set`): that set is saved and wins, also across
 * restarts, until `monitor.checks.clear` hands back to the config file.
 */
export class Monitor {
  private runners = new Map<string, CheckRunner>();
  private fingerprints = new Map<string, string>();
  private source: ChecksSource = 'config';
  private applying: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly configChecks: CheckInput[],
    private readonly saved: SavedCheckSet,
    private readonly log: Logger,
    private readonly emit: (event: string, data: unknown) => void,
  ) {}

  async start(): Promise<void> {
    const fromConfig = resolveChecks(this.configChecks, 'monitor.checks');
    let fromControlPlane: ResolvedCheck[] | null = null;
    try {
      const set = await this.saved.load();
      if (set) fromControlPlane = resolveChecks(set, 'checks');
    } catch (err) {
      // A damaged saved set must not keep the agent down; the config's checks run instead.
      this.log.error({ err }, 'saved monitor check set is unreadable; using the config file checks');
    }
    await this.replace(fromControlPlane ?? fromConfig, fromControlPlane ? 'control-plane' : 'config');
  }

  /** Replaces the set with one from the control plane and saves it; unchanged checks keep their state. */
  set(inputs: CheckInput[]): Promise<MonitorChecksResult> {
    const checks = resolveChecks(inputs, 'payload.checks');
    return this.serial(async () => {
      await this.saved.save(inputs);
      const changed = await this.replace(checks, 'control-plane');
      return { changed, source: this.source, checks: this.statuses() };
    });
  }

  /** Forgets the control plane's set; the config file's checks run again. */
  clear(): Promise<MonitorChecksResult> {
    return this.serial(async () => {
      await this.saved.clear();
      const changed = await this.replace(resolveChecks(this.configChecks, 'monitor.checks'), 'config');
      return { changed, source: this.source, checks: this.statuses() };
    });
  }

  list(): MonitorChecksResult {
    return { changed: false, source: this.source, checks: this.statuses() };
  }

  report(): MonitorReport {
    return { source: this.source, checks: this.statuses() };
  }

  async stop(): Promise<void> {
    await this.applying.catch(() => {});
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    this.runners.clear();
  }

  private statuses() {
    return [...this.runners.values()].map((r) => r.status());
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.applying.catch(() => {}).then(fn);
    this.applying = next;
    return next;
  }

  /** Returns whether anything changed (a check added, removed or altered, or the source). */
  private async replace(checks: ResolvedCheck[], source: ChecksSource): Promise<boolean> {
    let changed = source !== this.source;
    this.source = source;
    const wanted = new Map(checks.map((c) => [c.id, checkFingerprint(c)]));
    for (const [id, runner] of [...this.runners]) {
      if (wanted.get(id) === this.fingerprints.get(id)) continue;
      changed = true;
      await runner.stop();
      this.runners.delete(id);
      this.fingerprints.delete(id);
      // Its alert must not stay open on the control plane for a check that no longer exists.
      if (runner.alerting && !wanted.has(id)) this.onEdge({ check: runner.status(), transition: 'resolved', reason: 'check removed' });
    }
    const ordered = new Map<string, CheckRunner>();
    for (const check of checks) {
      let runner = this.runners.get(check.id);
      if (!runner) {
        changed = true;
        runner = new CheckRunner(check, (t) => this.onEdge(t));
        this.fingerprints.set(check.id, wanted.get(check.id)!);
        runner.start();
      }
      ordered.set(check.id, runner);
    }
    this.runners = ordered;
    if (changed) this.log.info({ source, checks: checks.map((c) => c.id) }, 'monitor checks in effect');
    return changed;
  }

  private onEdge(t: Transition): void {
    const level = t.transition === 'fired' ? 'warn' : 'info';
    this.log[level]({ check: t.check.id, state: t.check.state, message: t.check.message }, `check ${t.transition}`);
    this.emit('check.state', t);
  }
}
