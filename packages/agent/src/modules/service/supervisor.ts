import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { findAfterCycle, startOrder, type ServiceModuleReport, type ServiceNodeReport, type ServiceOutcome, type ServiceRunSpec } from '@steward/protocol';
import { AgentError } from '../../core/errors.js';
import type { Installer } from './installer.js';
import type { LimitsChoice } from './limits.js';
import { LOG_FILE, readLog, rotateIfLarge, type LogChunk } from './logs.js';
import { emptyRecord, ServiceUnit, type UnitRecord } from './unit.js';

export interface SupervisorOptions {
  stateFile: string;
  installer: Installer;
  limits: LimitsChoice;
  log: Logger;
  pollIntervalMs: number;
  logMaxBytes: number;
  logKeep: number;
  emit(event: string, data: unknown): void;
}

export interface ApplyResult {
  name: string;
  revision: number;
  version: string | null;
  outcome: ServiceOutcome['kind'];
  state: string;
  reason: string | null;
  /** For `install_failed`: the stable code of the error that stopped the install (checksum_mismatch, …). */
  cause?: string;
}

/**
 * Every service on this node. Desired specs, installed versions and pids with their start times
 * live in one state file, so an agent restart re-adopts what runs instead of starting it twice.
 * Operations on one service are serialised (an apply and a stop never interleave).
 */
export class Supervisor {
  private readonly units = new Map<string, ServiceUnit>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private timer: NodeJS.Timeout | null = null;
  private ticks = 0;

  constructor(private readonly o: SupervisorOptions) {}

  get limitsMode() {
    return this.o.limits.mode;
  }

  start(): void {
    for (const record of this.load()) {
      const unit = this.unit(record);
      if (record.pid !== null) {
        if (unit.adopt()) {
          this.o.log.info({ service: record.name, pid: record.pid }, 're-adopted a running service');
          continue;
        }
        this.o.log.warn({ service: record.name, pid: record.pid }, 'service exited while the agent was not running');
        unit.diedWhileAway();
      }
    }
    this.persist();
    void this.startInOrder();
    this.timer = setInterval(() => this.tick(), this.o.pollIntervalMs);
    this.timer.unref();
  }

  /**
   * After an agent restart or a reboot: starts what is not running in start order (`after`, then
   * `priority`), one at a time, each once the one before is healthy or its start failed within its
   * graceMs (then its restart policy takes over and the next starts anyway: one broken service does
   * not hold the node's others down).
   */
  private async startInOrder(): Promise<void> {
    const due = startOrder([...this.units.values()].filter((u) => u.wantsStart).map((u) => ({ unit: u, name: u.name, priority: u.record.spec?.priority, after: u.record.spec?.after })));
    for (const { unit } of due) {
      await this.exclusive(unit.name, async () => {
        if (unit.wantsStart) await unit.start({ supervised: true });
      }).catch((err: unknown) => this.o.log.error({ err, service: unit.name }, 'start in order failed'));
    }
  }

  /** Agent shutdown: the services keep running; the next agent adopts them. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const u of this.units.values()) u.detach();
    await Promise.allSettled([...this.locks.values()]);
    this.persist();
  }

  private tick(): void {
    this.ticks++;
    for (const u of this.units.values()) u.poll();
    // Log sizes are checked about every 5 s whatever the poll interval (a stat per service).
    if (this.ticks % Math.max(1, Math.round(5000 / this.o.pollIntervalMs)) === 0) {
      for (const name of this.units.keys()) {
        try {
          rotateIfLarge(this.logPath(name), this.o.logMaxBytes, this.o.logKeep);
        } catch (err) {
          this.o.log.warn({ err, service: name }, 'log rotation failed');
        }
      }
    }
  }

  report(): ServiceModuleReport {
    return { limits: this.o.limits.mode, services: [...this.units.values()].map((u) => u.report()) };
  }

  status(name: string): ServiceNodeReport | null {
    return this.units.get(name)?.report() ?? null;
  }

  logPath(name: string): string {
    return join(this.o.installer.serviceDir(name), 'logs', LOG_FILE);
  }

  logs(name: string, offset: number | undefined, maxBytes: number): LogChunk | null {
    if (!this.units.has(name)) return null;
    return readLog(this.logPath(name), offset, maxBytes);
  }

  private unit(record: UnitRecord): ServiceUnit {
    const unit = new ServiceUnit(record, {
      installer: this.o.installer,
      limits: this.o.limits,
      log: this.o.log,
      changed: (u) => this.changed(u),
    });
    this.units.set(record.name, unit);
    return unit;
  }

  private changed(u: ServiceUnit): void {
    this.persist();
    this.o.emit('state', u.report());
  }

  private exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.locks.set(name, tail);
    void tail.then(() => {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    });
    return next;
  }

  /**
   * Installs `spec` as revision `revision`. A new version goes in beside the old one; the old
   * process is stopped, the new one started and held to its health check; if that fails within
   * graceMs the old version is switched back and started again, and the outcome is `rolled_back`.
   */
  apply(revision: number, spec: ServiceRunSpec, signal?: AbortSignal): Promise<ApplyResult> {
    return this.exclusive(spec.name, async () => {
      let unit = this.units.get(spec.name);
      const r0 = unit?.record;
      if (unit && r0 && r0.revision === revision && r0.version !== null) {
        return this.result(unit, revision, 'unchanged', null);
      }
      // A new revision that changed nothing this node runs (the target, say): no restart.
      if (unit && r0 && r0.spec && r0.version !== null && stable(r0.spec) === stable(spec) && unit.alive) {
        r0.revision = revision;
        unit.setState(r0.state, r0.reason);
        return this.result(unit, revision, 'unchanged', null);
      }
      unit ??= this.unit(emptyRecord(spec.name));
      const r = unit.record;
      const old = r.spec && r.version && this.o.installer.installed(r.name, r.version, r.spec.artifact.sha256) ? { spec: r.spec, version: r.version } : null;
      const wasState = r.state;
      unit.setState('installing', old ? `installing ${spec.version} beside ${old.version}` : `installing ${spec.version}`);
      try {
        const cycle = findAfterCycle([spec, ...[...this.units.values()].filter((u) => u.name !== spec.name && u.record.spec).map((u) => u.record.spec!)]);
        if (cycle) throw new AgentError('dependency_cycle', `start order has a cycle: ${cycle.join(' → ')}`);
        await this.o.installer.install(spec.name, spec.version, spec.artifact, signal);
      } catch (e) {
        const reason = e instanceof AgentError ? e.message : `install failed: ${(e as Error).message}`;
        r.revision = revision;
        r.lastOutcome = { kind: 'install_failed', version: spec.version, reason, at: Date.now() };
        // The old version, if any, was never touched and keeps its state.
        if (old && unit.alive) unit.setState(wasState === 'installing' ? 'running' : wasState, `install of ${spec.version} failed: ${reason}`);
        else unit.setState('failed', reason);
        const cause = e instanceof AgentError ? e.code : 'install_error';
        return { ...this.result(unit, revision, 'install_failed', reason), cause };
      }
      await unit.stop(null, null);
      await this.o.installer.switchCurrent(spec.name, spec.version);
      Object.assign(r, { spec, version: spec.version, revision, held: false, crashes: [], step: 0 });
      const started = await unit.start({ supervised: false });
      if (started.ok) {
        r.lastOutcome = { kind: 'installed', version: spec.version, reason: null, at: Date.now() };
        unit.setState('running', null);
        await this.o.installer.prune(spec.name, [spec.version, ...(old && old.version !== spec.version ? [old.version] : [])]);
        return this.result(unit, revision, 'installed', null);
      }
      const why = started.reason ?? 'start failed';
      await unit.stop(null, null);
      if (old) {
        this.o.log.warn({ service: spec.name, from: spec.version, to: old.version, why }, 'rolling back');
        await this.o.installer.switchCurrent(spec.name, old.version);
        Object.assign(r, { spec: old.spec, version: old.version });
        r.lastOutcome = { kind: 'rolled_back', version: spec.version, reason: why, at: Date.now() };
        const back = await unit.start({ supervised: true });
        if (back.ok) unit.setState('running', `rolled back from ${spec.version}: ${why}`);
        return this.result(unit, revision, 'rolled_back', why);
      }
      r.lastOutcome = { kind: 'start_failed', version: spec.version, reason: why, at: Date.now() };
      unit.setState('failed', why);
      return this.result(unit, revision, 'start_failed', why);
    });
  }

  private result(unit: ServiceUnit, revision: number, outcome: ServiceOutcome['kind'], reason: string | null): ApplyResult {
    return { name: unit.name, revision, version: unit.record.version, outcome, state: unit.record.state, reason };
  }

  /** Stops the service, removes its files and cgroup, and forgets it. */
  remove(name: string): Promise<{ name: string; removed: boolean }> {
    return this.exclusive(name, async () => {
      const unit = this.units.get(name);
      if (unit) await unit.stop(null, null);
      unit?.removeCgroup();
      const existed = unit !== undefined || this.o.installer.exists(name);
      await this.o.installer.uninstall(name);
      this.units.delete(name);
      this.persist();
      if (existed) this.o.emit('removed', { name });
      return { name, removed: existed };
    });
  }

  operatorStop(name: string): Promise<ServiceNodeReport | null> {
    return this.exclusive(name, async () => {
      const unit = this.units.get(name);
      if (!unit) return null;
      unit.record.held = true;
      await unit.stop('stopped', 'stopped by an operator');
      return unit.report();
    });
  }

  operatorStart(name: string): Promise<ServiceNodeReport | null> {
    return this.exclusive(name, async () => {
      const unit = this.units.get(name);
      if (!unit) return null;
      if (!unit.alive) await unit.operatorStart();
      return unit.report();
    });
  }

  operatorRestart(name: string): Promise<ServiceNodeReport | null> {
    return this.exclusive(name, async () => {
      const unit = this.units.get(name);
      if (!unit) return null;
      await unit.stop(null, null);
      await unit.operatorStart();
      return unit.report();
    });
  }

  // ---- state file ----

  private load(): UnitRecord[] {
    if (!existsSync(this.o.stateFile)) return [];
    try {
      const doc = JSON.parse(readFileSync(this.o.stateFile, 'utf8')) as { services?: UnitRecord[] };
      return (doc.services ?? []).map((r) => ({ ...emptyRecord(r.name), ...r }));
    } catch (err) {
      this.o.log.error({ err, file: this.o.stateFile }, 'service state file unreadable; starting with no services');
      return [];
    }
  }

  private persist(): void {
    const tmp = `${this.o.stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify({ services: [...this.units.values()].map((u) => u.record) }), { mode: 0o600 });
    renameSync(tmp, this.o.stateFile);
  }
}

/** JSON with sorted keys, to compare specs whatever order their fields came in. */
function stable(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val) ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => a.localeCompare(b))) : val,
  );
}
