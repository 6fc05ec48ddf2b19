import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import {
  canTransitionService,
  type LimitsMode,
  type ServiceExit,
  type ServiceNodeReport,
  type ServiceOutcome,
  type ServiceRunSpec,
  type ServiceState,
} from '@steward/protocol';
import type { ServiceCgroup } from './cgroup.js';
import { HealthMonitor, waitHealthy, type HealthResult } from './health.js';
import type { Installer } from './installer.js';
import type { LimitsChoice } from './limits.js';
import { LOG_FILE, openLogFd } from './logs.js';
import { signalGroup } from '../../lib/process-group.js';
import { processStartTime, residentBytes, sameProcessAlive } from './proc.js';
import { decideAfterExit, resolveRestart } from './restart-policy.js';

const MAX_EXITS = 20;

/** What survives an agent restart (the supervisor's state file holds one per service). */
export interface UnitRecord {
  name: string;
  /** Revision of the last `service.apply` this node finished (installed, rolled back or failed). */
  revision: number | null;
  /** The spec of the installed, current version. */
  spec: ServiceRunSpec | null;
  version: string | null;
  state: ServiceState;
  reason: string | null;
  pid: number | null;
  /** /proc/<pid>/stat field 22 of `pid`: with the pid, identifies the process across agent restarts. */
  procStart: string | null;
  startedAt: number | null;
  restarts: number;
  /** Restarts since the process last stayed up `resetAfterMs` (the backoff exponent). */
  step: number;
  /** Times of recent abnormal exits, for the fatal window. */
  crashes: number[];
  exits: ServiceExit[];
  lastOutcome: ServiceOutcome | null;
  /** Stopped by an operator (`service.stop`): not restarted until `service.start` or a new apply. */
  held: boolean;
}

export function emptyRecord(name: string): UnitRecord {
  return {
    name,
    revision: null,
    spec: null,
    version: null,
    state: 'stopped',
    reason: null,
    pid: null,
    procStart: null,
    startedAt: null,
    restarts: 0,
    step: 0,
    crashes: [],
    exits: [],
    lastOutcome: null,
    held: false,
  };
}

export interface UnitDeps {
  installer: Installer;
  limits: LimitsChoice;
  log: Logger;
  /** Called after every change worth persisting and reporting. */
  changed(unit: ServiceUnit): void;
}

interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** The agent was not the parent (adopted process): the exit status is unknown. */
  unknown: boolean;
}

/**
 * One supervised service on this node: spawns it (detached, in its own process group and cgroup,
 * output to its log file), notices its exit (the child's exit event, or polling pid + start time
 * for a process adopted after an agent restart), and applies the restart policy.
 */
export class ServiceUnit {
  private child: ChildProcess | null = null;
  private cgroup: ServiceCgroup | null = null;
  private oomBaseline = 0;
  private backoffTimer: NodeJS.Timeout | null = null;
  /** Set while the supervisor itself stops the process (stop, restart, upgrade): not a crash. */
  private stopping = false;
  /** False while an apply drives the process (health gate, rollback); exits then don't restart. */
  private supervised = true;
  /** Why the supervisor killed the process (limit or failed health), for the exit record. */
  private killReason: { state: 'killed' | 'crash'; reason: string } | null = null;
  private exitWaiters: (() => void)[] = [];
  private gen = 0;
  private startAbort: AbortController | null = null;
  /** The continuous health check of the running process (null without a check or while not running). */
  private monitor: HealthMonitor | null = null;
  private detached = false;

  constructor(
    readonly record: UnitRecord,
    private readonly deps: UnitDeps,
  ) {}

  get name(): string {
    return this.record.name;
  }

  get alive(): boolean {
    return this.record.pid !== null;
  }

  limitsMode(): LimitsMode {
    const l = this.record.spec?.limits;
    if (!l || (l.memoryMB === undefined && l.cpuPercent === undefined && l.pids === undefined)) return 'none';
    return this.cgroup ? this.deps.limits.mode : 'degraded';
  }

  report(): ServiceNodeReport {
    const r = this.record;
    return {
      name: r.name,
      revision: r.revision,
      version: r.version,
      state: r.state,
      pid: r.pid,
      startedAt: r.startedAt,
      restarts: r.restarts,
      reason: r.reason,
      lastOutcome: r.lastOutcome,
      limits: this.limitsMode(),
      exits: r.exits,
    };
  }

  setState(to: ServiceState, reason: string | null): void {
    const from = this.record.state;
    if (from !== to && !canTransitionService(from, to)) {
      this.deps.log.error({ service: this.name, from, to }, 'service state transition outside the table');
    }
    this.record.state = to;
    this.record.reason = reason;
    this.deps.changed(this);
  }

  // ---- start ----

  /**
   * Spawns the current spec and, with a health check, waits for it. `supervised: false` leaves
   * a failed start to the caller (an upgrade rolls back); otherwise a failed health check kills
   * the process and the restart policy applies as for a crash.
   */
  async start(opts: { supervised: boolean }): Promise<HealthResult> {
    const spec = this.record.spec;
    if (!spec || !this.record.version) return { ok: false, reason: 'nothing installed' };
    if (this.detached) return { ok: false, reason: 'the supervisor is stopping' };
    this.cancelBackoff();
    this.supervised = opts.supervised;
    const dir = this.deps.installer.versionDir(this.name, this.record.version);
    const cwd = spec.workingDir ?? dir;
    const spawned = this.spawn(spec, cwd);
    if (!spawned.ok) {
      this.supervised = true;
      this.setState('failed', spawned.reason);
      return spawned;
    }
    if (!spec.health) {
      this.supervised = true;
      this.setState('running', null);
      return { ok: true, reason: null };
    }
    const gen = this.gen;
    this.startAbort = new AbortController();
    const result = await waitHealthy(spec.health, cwd, () => this.gen === gen && this.alive, this.startAbort.signal);
    this.startAbort = null;
    if (this.gen !== gen) return { ok: false, reason: result.reason ?? 'replaced while starting' };
    if (result.ok) {
      this.supervised = true;
      this.setState('running', null);
      this.watchHealth(cwd);
      return result;
    }
    if (!opts.supervised) return result;
    this.supervised = true;
    if (this.alive) {
      this.killReason = { state: 'crash', reason: result.reason ?? 'health check failed' };
      this.killGroup('SIGKILL');
    }
    return result;
  }

  private spawn(spec: ServiceRunSpec, cwd: string): HealthResult {
    if (!existsSync(cwd)) return { ok: false, reason: `working directory ${cwd} does not exist` };
    if (spec.command.includes('/') && !existsSync(resolve(cwd, spec.command))) {
      return { ok: false, reason: `command ${spec.command} not found in ${cwd}` };
    }
    this.cgroup = this.makeCgroup(spec);
    this.oomBaseline = this.cgroup?.oomKills() ?? 0;
    const args = spec.args ?? [];
    // Node cannot act between fork and exec, so a tiny shell joins the cgroup(s) first and then
    // execs the service in its place: same pid, never a moment outside its limits.
    const [file, argv] = this.cgroup
      ? ['/bin/sh', ['-c', 'for f in $0; do echo $$ > "$f" || exit 125; done; exec "$@"', this.cgroup.procsFiles.join(' '), spec.command, ...args]]
      : [spec.command, args];
    const fd = openLogFd(join(this.deps.installer.serviceDir(this.name), 'logs', LOG_FILE));
    let child: ChildProcess;
    try {
      // detached: its own session and process group, so it outlives the agent and a stop reaches every descendant.
      child = spawn(file, argv, { cwd, env: childEnv(spec.env), detached: true, stdio: ['ignore', fd, fd] });
    } catch (e) {
      return { ok: false, reason: `cannot start ${spec.command}: ${(e as Error).message}` };
    } finally {
      closeSync(fd);
    }
    if (child.pid === undefined) {
      return { ok: false, reason: `cannot start ${spec.command}` };
    }
    const gen = ++this.gen;
    this.child = child;
    child.unref();
    child.once('error', () => {});
    child.once('exit', (code, signal) => {
      if (this.gen === gen) this.exited({ code, signal, unknown: false });
    });
    this.record.pid = child.pid;
    this.record.procStart = processStartTime(child.pid);
    this.record.startedAt = Date.now();
    this.stopping = false;
    this.killReason = null;
    this.setState('starting', null);
    return { ok: true, reason: null };
  }

  private makeCgroup(spec: ServiceRunSpec): ServiceCgroup | null {
    const driver = this.deps.limits.driver;
    if (!driver) return null;
    try {
      return driver.create(this.name, spec.limits ?? {});
    } catch (err) {
      this.deps.log.warn({ err, service: this.name }, 'cannot set up the cgroup; limits fall back to the RSS watch');
      return null;
    }
  }

  /** After an agent restart: takes over the recorded process if it is still the same one. */
  adopt(): boolean {
    const r = this.record;
    if (r.pid === null || !sameProcessAlive(r.pid, r.procStart)) return false;
    this.cgroup = this.deps.limits.driver?.existing(this.name) ?? null;
    this.oomBaseline = this.cgroup?.oomKills() ?? 0;
    this.gen++;
    this.child = null;
    if (r.state === 'starting' || r.state === 'unhealthy') this.setState('running', null);
    if (r.spec) this.watchHealth(r.spec.workingDir ?? this.deps.installer.versionDir(this.name, r.version ?? ''));
    return true;
  }

  /**
   * Starts the continuous check of the process now running. Unhealthy: reported, then killed with
   * SIGKILL (a hung or SIGSTOP'd process ignores SIGTERM, and a service failing its check is not
   * trusted to shut down cleanly); the exit then goes through the restart policy like a crash.
   */
  private watchHealth(cwd: string): void {
    this.monitor?.stop();
    this.monitor = null;
    const health = this.record.spec?.health;
    if (!health || this.detached) return;
    const gen = this.gen;
    this.monitor = new HealthMonitor(health, cwd, (reason) => {
      if (this.gen !== gen || !this.alive || this.stopping) return;
      this.deps.log.warn({ service: this.name, pid: this.record.pid, reason }, 'service unhealthy; restarting it');
      this.setState('unhealthy', reason);
      this.killReason = { state: 'crash', reason: `unhealthy: ${reason}` };
      this.killGroup('SIGKILL');
    }).start();
  }

  // ---- exits ----

  /** Called on every poll tick: adopted-process liveness and the RSS watch. */
  poll(): void {
    const r = this.record;
    if (r.pid === null) return;
    if (this.child === null && !sameProcessAlive(r.pid, r.procStart)) {
      this.exited({ code: null, signal: null, unknown: true });
      return;
    }
    const limitMB = r.spec?.limits?.memoryMB;
    if (!this.cgroup && limitMB !== undefined && !this.killReason) {
      const rss = residentBytes(r.pid);
      if (rss !== null && rss > limitMB * 1024 * 1024) {
        this.killReason = { state: 'killed', reason: `memory limit ${limitMB} MiB exceeded (RSS ${Math.round(rss / 1048576)} MiB); killed by the agent's RSS watch (limits degraded: no writable cgroup)` };
        this.killGroup('SIGKILL');
      }
    }
  }

  private exited(info: ExitInfo, deferRestart = false): void {
    const r = this.record;
    const at = Date.now();
    const upMs = r.startedAt === null ? 0 : at - r.startedAt;
    const pid = r.pid;
    r.pid = null;
    r.procStart = null;
    this.child = null;
    this.monitor?.stop();
    this.monitor = null;
    this.gen++;
    // Whatever the service left behind in its group goes too, so a restart starts clean.
    if (pid !== null) signalGroup(pid, 'SIGKILL');
    const waiters = this.exitWaiters.splice(0);
    if (this.stopping) {
      this.stopping = false;
      waiters.forEach((w) => w());
      return;
    }
    const oom = this.cgroup !== null && this.cgroup.oomKills() > this.oomBaseline;
    let state: 'killed' | 'crash' | 'clean' = info.code === 0 ? 'clean' : 'crash';
    let reason: string;
    if (oom) {
      state = 'killed';
      reason = `memory limit ${r.spec?.limits?.memoryMB} MiB reached: killed by the kernel OOM killer (${this.deps.limits.mode})`;
    } else if (this.killReason) {
      state = this.killReason.state;
      reason = this.killReason.reason;
    } else if (info.unknown) {
      reason = 'exited (exit status unknown: the process was adopted after an agent restart)';
    } else if (info.signal) {
      reason = `killed by ${info.signal}`;
    } else {
      reason = `exited with code ${info.code}`;
    }
    this.killReason = null;
    const abnormal = state !== 'clean';
    const exit: ServiceExit = { at, code: info.code, signal: info.signal, reason, delayMs: null };
    r.exits.push(exit);
    if (r.exits.length > MAX_EXITS) r.exits.splice(0, r.exits.length - MAX_EXITS);
    waiters.forEach((w) => w());
    if (!this.supervised) {
      // An apply is driving this start; it decides what comes next.
      this.deps.changed(this);
      return;
    }
    const policy = resolveRestart(r.spec?.restart);
    const decision = decideAfterExit(policy, { abnormal, at, upMs }, r.crashes, r.step);
    if (abnormal) {
      r.crashes.push(at);
      r.crashes = r.crashes.filter((t) => t > at - policy.fatalAfter.withinMs);
    }
    if (state === 'killed') this.setState('killed', reason);
    if (decision.kind === 'fatal') {
      this.setState('fatal', `${decision.crashesInWindow} abnormal exits within ${policy.fatalAfter.withinMs} ms; last: ${reason}`);
      return;
    }
    if (decision.kind === 'stop') {
      if (state !== 'killed') this.setState(decision.state, reason);
      return;
    }
    if (deferRestart) {
      // The supervisor starts it in start order (after the services it waits for).
      this.setState('backoff', `${reason}; starting in start order`);
      return;
    }
    exit.delayMs = decision.delayMs;
    r.step = decision.step;
    this.setState('backoff', `${reason}; restarting in ${decision.delayMs} ms`);
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = null;
      r.restarts++;
      void this.start({ supervised: true }).catch((err) => this.deps.log.error({ err, service: this.name }, 'restart failed'));
    }, decision.delayMs);
    this.backoffTimer.unref();
  }

  /**
   * An agent restart found the process gone while the agent was down (a reboot, a crash): the exit
   * is recorded and the restart policy decides; a restart is left to the supervisor's start order.
   */
  diedWhileAway(): void {
    this.record.pid = null;
    this.exited({ code: null, signal: null, unknown: true }, true);
  }

  /** Whether the supervisor should start this service at agent start (not running, not held, not given up). */
  get wantsStart(): boolean {
    const r = this.record;
    return r.pid === null && !r.held && r.spec !== null && (r.state === 'backoff' || r.state === 'starting');
  }

  // ---- stop ----

  private cancelBackoff(): void {
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    this.backoffTimer = null;
  }

  private killGroup(signal: NodeJS.Signals): void {
    if (this.record.pid !== null) signalGroup(this.record.pid, signal);
    if (signal === 'SIGKILL') this.cgroup?.killAll();
  }

  private waitExit(timeoutMs: number): Promise<boolean> {
    if (this.record.pid === null) return Promise.resolve(true);
    return new Promise((res) => {
      const t = setTimeout(() => res(false), timeoutMs);
      this.exitWaiters.push(() => {
        clearTimeout(t);
        res(true);
      });
    });
  }

  /** Stops the process (stop signal, then SIGKILL after stopTimeoutMs); no restart follows. */
  async stop(state: 'stopped' | null, reason: string | null): Promise<void> {
    this.cancelBackoff();
    this.startAbort?.abort();
    if (this.record.pid !== null) {
      this.stopping = true;
      const spec = this.record.spec;
      this.monitor?.stop();
      this.killGroup((spec?.stopSignal ?? 'SIGTERM') as NodeJS.Signals);
      // A stopped (SIGSTOP'd) process holds its signals until continued; the stop signal is pending now.
      this.killGroup('SIGCONT');
      if (!(await this.waitExit(spec?.stopTimeoutMs ?? 5000))) {
        this.killGroup('SIGKILL');
        if (!(await this.waitExit(2000))) {
          // Not our child and not dying (or the poll missed it): forget it rather than hang.
          this.deps.log.warn({ service: this.name, pid: this.record.pid }, 'process did not exit after SIGKILL');
          this.exited({ code: null, signal: 'SIGKILL', unknown: true });
        }
      }
    }
    this.stopping = false;
    if (state) this.setState(state, reason);
  }

  /** Operator start: a fresh crash window and backoff. */
  async operatorStart(): Promise<HealthResult> {
    this.record.held = false;
    this.record.crashes = [];
    this.record.step = 0;
    return this.start({ supervised: true });
  }

  /** Agent shutdown: timers stop, processes keep running. */
  detach(): void {
    this.detached = true;
    this.gen++; // the child's exit listener is stale from now on: the next agent polls instead
    this.cancelBackoff();
    this.monitor?.stop();
    this.startAbort?.abort();
  }

  removeCgroup(): void {
    (this.cgroup ?? this.deps.limits.driver?.existing(this.name))?.remove();
    this.cgroup = null;
  }
}

/** The agent's environment minus its own STEWARD_* settings (they may hold tokens), plus the spec's. */
function childEnv(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('STEWARD_')) env[k] = v;
  return { ...env, ...extra };
}
