import {
  BOOTAGENT_ARTIFACTS_PATH,
  newId,
  type BootAgentChild,
  type BootAgentJob,
  type BootAgentJobResult,
  type BootAgentStatusReport,
  type DispatchedCommand,
  type Inventory,
  type ServiceApplyPayload,
  type ServiceNodeReport,
  type ServiceOutcome,
  type Stats,
} from '@steward/protocol';
import type { Logger } from 'pino';
import type { AgentSession } from '../../session.js';
import type { TransportHost } from '../../transport.js';
import { ProxiedAgent } from '../proxied-agent.js';
import { BOOTAGENT_COMMANDS, BOOTAGENT_COMMAND_TYPES, childReport, failedReport, limitsOf, serviceNameOf } from './jobs.js';
import type { UrlSigner } from './signed-urls.js';

/** A command the pipeline already timed out is forgotten this long after its timeout. */
const TIMEOUT_SLACK_MS = 60_000;

/** What the transport knows of the node a report belongs to (read at every report). */
export interface BootNode {
  id: string;
  heartbeatIntervalMs: number;
}

/** One `/agent/status` as the device sent it, with what the reply needs. */
export interface BootReport {
  body: BootAgentStatusReport;
  node: BootNode;
  /** Where the device reached us, `http://host:port`: artifact URLs point there. */
  baseUrl: string;
  /** The `svrlist` of config jobs. */
  svrlist: string;
  source: string;
}

/** What the device's state needs from the rest of the control plane. */
export interface DeviceEnv {
  host: TransportHost;
  signer: UrlSigner;
  log: Logger;
  now(): number;
  /** Revision per service the node last reported (kept across control-plane restarts). */
  reportedRevisions(nodeId: string): Promise<Map<string, number>>;
  /** Names of services declared in Steward, deleted ones included. */
  declaredServices(): Promise<Set<string>>;
  /** The device's link connection closed (it fell silent, or its node was deleted). */
  closed?(device: BootDevice): void;
}

type Action = (typeof BOOTAGENT_COMMANDS)[string];

/** A command the device was given as a job and has not finished. */
interface Pending {
  command: DispatchedCommand;
  service: string;
  action: Action;
  takenAt: number;
  /** Offer it (again) in the next reply: it failed on the device. */
  offer: boolean;
}

/**
 * One BootAgent as the control plane keeps it between its short connections. Each status report
 * goes through the node's ProxiedAgent: its job results finish commands, its child agents become
 * the `service` module report of a heartbeat (so the services feature records them and
 * reconciles exactly as for a Steward agent), and the commands that reconciliation queued
 * become the jobs of the reply. A job that failed stays with its command and is offered again
 * at the next report, as the seed says, until it succeeds or its command times out.
 */
export class BootDevice {
  private proxied: ProxiedAgent | null = null;
  private session: AgentSession | null = null;
  private readonly pending = new Map<string, Pending>();
  /** service → revision Steward installed there; loaded from the store on the first report. */
  private applied: Map<string, number> | null = null;
  private readonly outcomes = new Map<string, ServiceOutcome>();
  /** The device's spelling of each service's child name (`BasicAgent` for `basicagent`). */
  private readonly spelling = new Map<string, string>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly nodeId: string,
    private readonly env: DeviceEnv,
  ) {}

  /** Handles one report; reports of one device run one at a time. */
  report(r: BootReport): Promise<BootAgentJob[]> {
    const run = this.chain.then(() => this.handle(r));
    this.chain = run.catch(() => undefined);
    return run;
  }

  end(): void {
    this.proxied?.end();
  }

  /** Nothing would be lost by forgetting this device: no job is waiting for its result. */
  get idle(): boolean {
    return this.pending.size === 0;
  }

  private async handle(r: BootReport): Promise<BootAgentJob[]> {
    const now = this.env.now();
    this.applied ??= await this.env.reportedRevisions(this.nodeId);
    const children = new Map<string, BootAgentChild>();
    for (const c of r.body.agents ?? []) {
      const name = serviceNameOf(c.name);
      if (name === null) continue;
      children.set(name, c);
      this.spelling.set(name, c.name);
    }
    const proxied = await this.connect(r);
    // Taken before the results are read: after a reconnect (or a control-plane restart) the link
    // delivers again what the device still runs, and its result in this report must find it.
    const fresh = this.takeQueued(proxied, children, now);

    const imperative: Pending[] = [];
    for (const res of r.body.jobs ?? []) {
      const p = this.pending.get(res.id);
      if (!p) continue; // a config job, or one this control plane no longer knows: nothing to finish
      if (res.errcode === 0) this.succeeded(proxied, p, now, imperative);
      else this.failed(p, res, now);
    }

    const services = await this.services(r, children, now);
    const byName = new Map(services.map((s) => [s.name, s]));
    for (const p of imperative) {
      const report = byName.get(p.service);
      if (report) proxied.finish(p.command.id, { state: 'succeeded', result: report });
      else proxied.finish(p.command.id, { state: 'failed', error: { code: 'unknown_service', message: `the BootAgent no longer reports ${p.service}` } });
    }
    proxied.heartbeat(statsOf(r.body, now), { service: { limits: 'none', services } });
    // The heartbeat's reconciliation queues its commands on the proxied agent before this resolves.
    await this.session!.settled();
    fresh.push(...this.takeQueued(proxied, children, now));

    const jobs: BootAgentJob[] = [];
    for (const p of [...this.pending.values()]) {
      if (proxied.wasCancelled(p.command.id) || now - p.takenAt > p.command.timeoutMs + TIMEOUT_SLACK_MS) {
        this.pending.delete(p.command.id);
        continue;
      }
      if (p.offer || fresh.includes(p)) {
        p.offer = false;
        jobs.push(this.jobOf(p, children, r, now));
      }
    }
    const step = Math.max(1, Math.ceil(r.node.heartbeatIntervalMs / 1000));
    if (r.body.step !== step) jobs.push({ id: newId('cfg'), action: 'config', svrlist: r.svrlist, step });
    return jobs;
  }

  /** The node's link connection: this report's, or a new one after the device was silent. */
  private async connect(r: BootReport): Promise<ProxiedAgent> {
    if (this.proxied?.isOpen) return this.proxied;
    const stepMs = Math.max(r.node.heartbeatIntervalMs, (r.body.step ?? 0) * 1000);
    const proxied = new ProxiedAgent({
      silenceMs: 3 * stepMs,
      onError: (code, message) => this.env.log.warn({ nodeId: this.nodeId, code, message }, 'the link refused a BootAgent message'),
      onClose: () => this.env.closed?.(this),
    });
    this.proxied = proxied;
    this.session = this.env.host.attach(this.nodeId, proxied);
    try {
      await proxied.hello(inventoryOf(r));
      // The welcome comes first; what the link delivers again on a hello is queued after it.
      await this.session.settled();
    } catch (err) {
      // Refused or closed before the welcome: the next report starts over with a new connection.
      proxied.end();
      throw err;
    }
    return proxied;
  }

  private succeeded(proxied: ProxiedAgent, p: Pending, now: number, imperative: Pending[]): void {
    this.pending.delete(p.command.id);
    if (p.action === 'apply') {
      const { revision, spec } = p.command.payload as ServiceApplyPayload;
      this.applied!.set(p.service, revision);
      this.outcomes.set(p.service, { kind: 'installed', version: spec.version, reason: null, at: now });
      proxied.finish(p.command.id, { state: 'succeeded', result: { outcome: 'installed', version: spec.version, revision } });
    } else if (p.action === 'uninstall') {
      this.applied!.delete(p.service);
      this.outcomes.delete(p.service);
      proxied.finish(p.command.id, { state: 'succeeded', result: { removed: p.service } });
    } else {
      imperative.push(p);
    }
  }

  private failed(p: Pending, res: BootAgentJobResult, now: number): void {
    p.offer = true;
    if (p.action !== 'apply') return;
    const { spec } = p.command.payload as ServiceApplyPayload;
    const reason = `the BootAgent could not install ${spec.version} (errcode ${res.errcode}: ${res.message ?? 'no message'}); offered again at its next report`;
    this.outcomes.set(p.service, { kind: 'install_failed', version: spec.version, reason, at: now });
  }

  /**
   * The `service` module report: the children that are Steward services (declared, or installed
   * by Steward). Other children are the device's own business and are left alone, so pointing a
   * BootAgent at Steward does not uninstall what its old server installed.
   */
  private async services(r: BootReport, children: Map<string, BootAgentChild>, now: number): Promise<ServiceNodeReport[]> {
    const declared = await this.env.declaredServices();
    const ts = r.body.timestamp;
    const deviceTime = ts === undefined ? now : ts > 1e12 ? ts : ts > 1e9 ? ts * 1000 : now;
    const out: ServiceNodeReport[] = [];
    for (const [name, child] of children) {
      if (!declared.has(name) && !this.applied!.has(name)) continue;
      out.push(childReport(name, child, { revision: this.applied!.get(name) ?? null, outcome: this.outcomes.get(name) ?? null, deviceTime }));
    }
    for (const name of this.applied!.keys()) if (!children.has(name)) this.applied!.delete(name); // gone from the device: install again
    for (const p of this.pending.values()) {
      const outcome = this.outcomes.get(p.service);
      if (p.action === 'apply' && p.offer && outcome?.kind === 'install_failed' && !children.has(p.service)) out.push(failedReport(p.service, outcome));
    }
    return out;
  }

  /** The commands the link queued since the last report, as pending jobs (not offered yet). */
  private takeQueued(proxied: ProxiedAgent, children: Map<string, BootAgentChild>, now: number): Pending[] {
    const out: Pending[] = [];
    for (let c = proxied.next(); c; c = proxied.next()) {
      if (this.pending.has(c.id)) continue; // delivered again after a reconnect: the device has it
      const p = this.take(proxied, c, children, now);
      if (p) out.push(p);
    }
    return out;
  }

  /** A command the link queued, as a pending job; null when it was answered at once. */
  private take(proxied: ProxiedAgent, c: DispatchedCommand, children: Map<string, BootAgentChild>, now: number): Pending | null {
    const action = BOOTAGENT_COMMANDS[c.type];
    const payload = c.payload as { name?: string; spec?: { name: string } };
    const service = payload.spec?.name ?? payload.name ?? '';
    if (action === undefined) {
      proxied.finish(c.id, { state: 'failed', error: { code: 'unknown_command_type', message: `a BootAgent cannot run ${c.type}` } });
      return null;
    }
    if (action === 'uninstall' && !children.has(service)) {
      proxied.finish(c.id, { state: 'succeeded', result: { removed: service } });
      return null;
    }
    if ((action === 'stop' || action === 'restart') && !children.has(service)) {
      proxied.finish(c.id, { state: 'failed', error: { code: 'unknown_service', message: `no service named ${service} on this node` } });
      return null;
    }
    const p: Pending = { command: c, service, action, takenAt: now, offer: false };
    this.pending.set(c.id, p);
    return p;
  }

  private jobOf(p: Pending, children: Map<string, BootAgentChild>, r: BootReport, now: number): BootAgentJob {
    const name = this.spelling.get(p.service) ?? p.service;
    if (p.action !== 'apply') return { id: p.command.id, action: p.action, name };
    const { spec } = p.command.payload as ServiceApplyPayload;
    const sha = spec.artifact.sha256;
    // A store artifact is fetched from this listener with a URL that is its own short-lived credential.
    const url = spec.artifact.url ?? `${r.baseUrl}${BOOTAGENT_ARTIFACTS_PATH}/${sha}?${this.env.signer.sign(this.nodeId, sha, now)}`;
    const limits = limitsOf(spec.limits);
    return {
      id: p.command.id,
      action: children.has(p.service) ? 'upgrade' : 'install',
      name,
      url,
      checksum: `SHA256:${sha}`,
      version: spec.version,
      envs: spec.env ?? {},
      ...(limits ? { limits } : {}),
    };
  }
}

const ARCH = /^(x86_64|amd64|aarch64|arm64|i[3-6]86|armv\d+l?|ppc64le|s390x|riscv64|mips\w*)$/;

function inventoryOf(r: BootReport): Inventory {
  const version = r.body.version ?? 'bootagent';
  const arch = version.split('-').pop() ?? '';
  return {
    hostname: r.body.hostname,
    addresses: [r.source],
    os: { platform: 'unknown', release: '' },
    arch: ARCH.test(arch) ? arch : '',
    agentVersion: version,
    cpuCores: 0,
    memoryBytes: 0,
    disks: [],
    capabilities: ['bootagent'],
    modules: ['service'],
    commandTypes: BOOTAGENT_COMMAND_TYPES,
  };
}

/** A BootAgent reports no host figures: only its uptime is real. */
function statsOf(body: BootAgentStatusReport, now: number): Stats {
  const up = body.uptime ?? 0;
  return {
    collectedAt: now,
    cpu: { usagePercent: 0, cores: 0 },
    load: [0, 0, 0],
    memory: { totalBytes: 0, availableBytes: 0, usedBytes: 0 },
    disks: [],
    network: [],
    uptimeSeconds: up,
    agentUptimeSeconds: up,
  };
}
