import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { AGENT_PROTOCOL_VERSION, type CredentialRotateMessage, type DispatchMessage, type Inventory, type ServerMessage } from '@steward/protocol';
import { jittered } from './backoff.js';
import type { AgentConfig } from './config.js';
import { AgentConnection } from './connection.js';
import { enroll, EnrollmentError } from './enroll.js';
import { outputMessages } from './core/output.js';
import { Executor } from './executor.js';
import type { MediastackHeartbeat } from './inbound/heartbeat.js';
import type { InboundApi } from './inbound/server.js';
import type { InboundRunner } from './inbound/types.js';
import { CommandTrust } from './link/command-trust.js';
import { loadIdentity, saveIdentity, type Identity } from './link/identity.js';
import { Journal } from './journal.js';
import { ServerLink } from './link/server-link.js';
import { newClientCsr, saveClientCert } from './link/client-cert.js';
import { resolveTrust, socketTlsOptions, trustedFetch, type ServerTrust } from './link/tls.js';
import { createAgentLogger } from './logger.js';
import { loadModules, resolveModuleSettings, type ModuleRegistry } from './modules/registry.js';
import type { ModuleInstance } from './modules/types.js';
import { collectInventory } from './system/inventory.js';
import { getStatsCollector } from './system/stats.js';
import { AGENT_VERSION } from './version.js';

export interface RunningAgent {
  nodeId: string;
  stop(): Promise<void>;
}

export interface AgentOptions {
  log?: Logger;
  /** Grace for running commands on stop before they are cancelled. */
  drainMs?: number;
}

/**
 * The node agent: enrolls once, then keeps one WebSocket to the control plane, heartbeats,
 * and runs what it is sent through the executor. Lifecycle: start → running → stop (drain).
 */
export class Agent implements RunningAgent {
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeatMs: number;
  private seq = 0;
  private welcomed = false;
  private pruneTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  private inbound: InboundApi | null = null;
  private mediastackHeartbeat: MediastackHeartbeat | null = null;

  private constructor(
    readonly config: AgentConfig,
    readonly identity: Identity,
    private readonly log: Logger,
    private readonly journal: Journal,
    private readonly inventory: Inventory,
    private readonly executor: Executor,
    private readonly connection: AgentConnection,
    private readonly drainMs: number,
    private readonly modules: Map<string, ModuleInstance>,
    private readonly trust: CommandTrust,
    private readonly link: ServerLink,
  ) {
    this.heartbeatMs = config.heartbeatIntervalMs;
  }

  get nodeId(): string {
    return this.identity.nodeId;
  }

  static async start(config: AgentConfig, options: AgentOptions = {}): Promise<Agent> {
    const log = options.log ?? createAgentLogger(config.logLevel);
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    for (const root of config.fs.roots) mkdirSync(root, { recursive: true });
    const registry = await loadModules(config.modules);
    const settings = resolveModuleSettings(registry.loaded(), config.moduleSettings);
    const inventory = await collectInventory(config, registry, AGENT_VERSION);
    // Settled before anything is sent: the URL policy, the pinned CA, the client certificate.
    let trust = await resolveTrust(config);
    const identity = await ensureEnrolled(config, inventory, log, trust);
    trust = await resolveTrust(config);
    // The one place identity.json is read; modules reach the control plane through this link.
    const link = new ServerLink(config.server, identity, trust);
    const journal = new Journal(config.dataDir);
    let agent: Agent | undefined;
    const modules = new Map<string, ModuleInstance>();
    const emit = (module: string, event: string, data: unknown) => agent?.send({ type: 'module.event', module, event, at: Date.now(), data });
    const executor = new Executor(journal, registry, config, log, {
      started: (commandId) => agent?.send({ type: 'command.started', commandId, at: Date.now() }),
      // An inbound API command goes out as a report: the control plane did not dispatch it.
      finished: (result) => agent?.send(journal.outgoing(result)),
      module: (name) => modules.get(name),
      emit,
      progress: (commandId, progress) => agent?.send({ type: 'command.progress', commandId, progress }),
      output: (msg) => agent?.send(msg),
    }, link);
    const connection = new AgentConnection(
      {
        server: config.server,
        credential: link.identity.credential,
        initialDelayMs: config.reconnect.initialDelayMs,
        maxDelayMs: config.reconnect.maxDelayMs,
        keepaliveMs: config.reconnect.keepaliveMs,
        log,
        tls: socketTlsOptions(trust),
      },
      {
        open: () => agent?.onOpen(),
        message: (msg) => agent?.onMessage(msg),
        closed: (code, reason) => agent?.onClosed(code, reason),
      },
    );
    const commandTrust = new CommandTrust(config.dataDir, identity, log);
    agent = new Agent(config, identity, log, journal, inventory, executor, connection, options.drainMs ?? 10_000, modules, commandTrust, link);
    // Modules start before commands are recovered or received: handlers may need them.
    await startModules(registry, settings, config, log, link, modules, emit);
    executor.recoverInterrupted();
    await agent.startMediastack(registry, executor, journal);
    connection.start();
    agent.pruneTimer = setInterval(() => journal.prune(Date.now()), 3_600_000);
    agent.pruneTimer.unref();
    log.info({ nodeId: identity.nodeId, name: identity.name, server: identity.server, modules: registry.modules() }, 'agent started');
    return agent;
  }

  /**
   * The MediaStack side, each part only when configured: the inbound API (commands run through
   * this executor and journal) and the heartbeat to a controller. Fastify loads only for the API.
   */
  private async startMediastack(registry: ModuleRegistry, executor: Executor, journal: Journal): Promise<void> {
    const { inbound, mediastackHeartbeat } = this.config;
    if (!inbound && !mediastackHeartbeat) return;
    const { mediastackStatus } = await import('./inbound/status.js');
    if (inbound) {
      const [{ startInboundApi }, { resolveApiKey }] = await Promise.all([import('./inbound/server.js'), import('./inbound/api-key.js')]);
      const { key, file } = resolveApiKey(inbound, this.config.dataDir);
      const runner: InboundRunner = {
        submit: (cmd) => executor.submitInbound(cmd),
        settled: (id, waitMs) => executor.settled(id, waitMs),
        find: (requestId) => journal.byRequestId(requestId),
        validate: (type, payload) => void registry.validatePayload(type, payload),
        types: () => registry.types(),
      };
      this.inbound = await startInboundApi({ settings: inbound, apiKey: key, runner, status: mediastackStatus, nodeId: this.nodeId, log: this.log });
      if (file) this.log.info({ file }, 'inbound API key is read from this file');
    }
    if (mediastackHeartbeat) {
      const { startMediastackHeartbeat } = await import('./inbound/heartbeat.js');
      this.mediastackHeartbeat = startMediastackHeartbeat({
        settings: mediastackHeartbeat,
        nodeId: this.nodeId,
        status: mediastackStatus,
        ...(inbound?.hmacSecret ? { hmacSecret: inbound.hmacSecret } : {}),
        log: this.log,
      });
    }
  }

  private send(msg: Parameters<AgentConnection['send']>[0]): void {
    if (this.welcomed || msg.type === 'hello') this.connection.send(msg);
  }

  private onOpen(): void {
    this.connection.send({
      type: 'hello',
      protocol: AGENT_PROTOCOL_VERSION,
      inventory: this.inventory,
      running: this.executor.runningIds(),
      outbox: this.journal.outboxIds(),
      modules: this.moduleReports(),
    });
  }

  private moduleReports(): Record<string, unknown> | undefined {
    let out: Record<string, unknown> | undefined;
    for (const [name, inst] of this.modules) {
      if (!inst.report) continue;
      try {
        (out ??= {})[name] = inst.report();
      } catch (err) {
        this.log.warn({ err, module: name }, 'module report failed');
      }
    }
    return out;
  }

  private onMessage(msg: ServerMessage): void {
    switch (msg.type) {
      case 'welcome':
        this.welcomed = true;
        this.connection.healthy();
        this.heartbeatMs = msg.heartbeatIntervalMs;
        this.log.info({ nodeId: msg.nodeId, name: msg.name }, 'connected to the control plane');
        if (msg.signingKeys) this.trust.offerKeySet(msg.signingKeys, Date.now());
        // Output and results from while we were away (or whose ack was lost) go first; a
        // command's output before its result, as it went when connected.
        outputMessages(this.journal.pendingOutput(), (m) => this.connection.send(m));
        for (const result of this.journal.outbox()) this.connection.send(result);
        // A control plane restored from a backup asks what we received after it (clocks may differ by a minute).
        if (msg.restored) this.connection.send({ type: 'command.recent', commandIds: this.journal.receivedBetween(msg.restored.backupAt - 60_000, msg.restored.restoredAt + 60_000) });
        this.scheduleHeartbeat(0);
        return;
      case 'command.dispatch':
        return this.onDispatch(msg);
      case 'signing.keys':
        this.trust.offerKeySet(msg, Date.now());
        return;
      case 'credential.rotate':
        return this.onCredential(msg);
      case 'command.cancel':
        return this.executor.cancel(msg.commandId);
      case 'session.input':
        return this.executor.sessions.input(msg.commandId, msg.seq, msg.data);
      case 'session.resize':
        return this.executor.sessions.resize(msg.commandId, msg.cols, msg.rows);
      case 'result.ack':
        return this.journal.ack(msg.commandIds);
      case 'output.ack':
        return this.journal.ackOutput(msg.commandId, msg.upTo);
      case 'config':
        this.heartbeatMs = msg.heartbeatIntervalMs;
        return this.scheduleHeartbeat(0);
      case 'error':
        this.log.warn({ code: msg.code, details: msg.details }, `control plane: ${msg.message}`);
        return;
    }
  }

  /**
   * Checks a dispatch before anything runs or is journaled. A refused new command is answered
   * with a failed result carrying the refusal code (the operator sees it; nothing is journaled,
   * so a properly signed retry still runs). An id the journal already holds never runs again:
   * its stored result (or `started`) is sent as for any repeat, and an exact replay of the
   * accepted message is logged as `command_replayed`; no failure is reported for it, because
   * the command's real result must stand.
   */
  private onDispatch(msg: DispatchMessage): void {
    const now = Date.now();
    const verdict = this.trust.verifyDispatch(msg, now);
    const known = this.journal.get(msg.command.id);
    if (known && known.origin === 'control') {
      if (!verdict.ok) {
        this.log.warn({ commandId: msg.command.id, code: verdict.code }, `ignored a repeat of a known command: ${verdict.message}`);
        return;
      }
      if (known.issuedAt !== null && verdict.issuedAt <= known.issuedAt) {
        this.log.warn({ commandId: msg.command.id, code: 'command_replayed' }, 'refused a replayed command: this signed message was already accepted; it does not run again');
      }
      return this.executor.dispatch(msg.command, verdict);
    }
    if (known || !verdict.ok) {
      const refusal = verdict.ok
        ? { code: 'command_replayed', message: `command id ${msg.command.id} was already used by another request` }
        : { code: verdict.code, message: verdict.message };
      this.log.warn({ commandId: msg.command.id, type: msg.command.type, code: refusal.code }, `refused a command: ${refusal.message}`);
      this.send({ type: 'command.result', commandId: msg.command.id, state: 'failed', error: refusal, startedAt: now, finishedAt: now });
      return;
    }
    this.executor.dispatch(msg.command, verdict);
  }

  /**
   * A new credential: stored in the identity file before it is acknowledged, then used for the
   * next connection and for artifact requests. One not signed by a pinned key is ignored.
   */
  private onCredential(msg: CredentialRotateMessage): void {
    const credential = this.trust.verifyCredential(msg, Date.now());
    if (!credential) {
      this.log.warn({ credentialId: msg.credentialId }, 'ignored a credential rotation not signed for this node by a pinned key');
      return;
    }
    try {
      const identity = this.trust.saveCredential(credential);
      this.connection.setCredential(identity.credential);
      this.link.setCredential(identity.credential);
    } catch (err) {
      this.log.error({ err }, 'could not store the rotated credential; keeping the old one');
      return;
    }
    this.log.info({ credentialId: msg.credentialId }, 'node credential rotated');
    this.send({ type: 'credential.rotated', credentialId: msg.credentialId });
  }

  private onClosed(code: number, reason: string): void {
    if (this.welcomed && !this.stopping) this.log.warn({ code, reason }, 'disconnected from the control plane');
    this.welcomed = false;
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private scheduleHeartbeat(delayMs: number): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = setTimeout(() => void this.heartbeat(), delayMs);
  }

  private async heartbeat(): Promise<void> {
    try {
      const stats = await getStatsCollector().collect();
      this.send({
        type: 'heartbeat',
        seq: this.seq++,
        stats,
        running: this.executor.runningIds(),
        outbox: this.journal.outboxIds(),
        modules: this.moduleReports(),
      });
    } catch (err) {
      this.log.warn({ err }, 'heartbeat failed');
    }
    if (this.welcomed) this.scheduleHeartbeat(jittered(this.heartbeatMs));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.mediastackHeartbeat?.stop();
    // No new inbound requests; those waiting on a command get their answer as it drains.
    const inboundClosed = this.inbound?.close();
    // Running commands get a grace to finish; their results go out while we are still connected.
    await this.executor.drain(this.drainMs);
    await inboundClosed;
    for (const [name, inst] of [...this.modules].reverse()) {
      await inst.stop().catch((err) => this.log.warn({ err, module: name }, 'module did not stop cleanly'));
    }
    await this.connection.stop();
    this.journal.close();
    this.log.info('agent stopped');
  }
}

async function startModules(
  registry: ModuleRegistry,
  settings: Record<string, unknown>,
  config: AgentConfig,
  log: Logger,
  link: ServerLink,
  into: Map<string, ModuleInstance>,
  emit: (module: string, event: string, data: unknown) => void,
): Promise<void> {
  for (const mod of registry.loaded()) {
    if (!mod.start) continue;
    const dataDir = join(config.dataDir, 'modules', mod.name);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const inst = await mod.start({
      name: mod.name,
      config,
      settings: settings[mod.name],
      dataDir,
      log: log.child({ module: mod.name }),
      link,
      emit: (event, data) => emit(mod.name, event, data),
    });
    into.set(mod.name, inst);
  }
}

async function ensureEnrolled(config: AgentConfig, inventory: Inventory, log: Logger, trust: ServerTrust): Promise<Identity> {
  const existing = loadIdentity(config.dataDir);
  if (existing) return existing;
  if (!config.enrollToken) {
    throw new EnrollmentError(
      `not enrolled yet (no identity file in ${config.dataDir}): give --enroll-token (or STEWARD_ENROLL_TOKEN)`,
      'not_enrolled',
      true,
    );
  }
  // Over TLS the node asks for a client certificate (mTLS); its key never leaves the data dir.
  const csr = config.server.startsWith('https:') ? newClientCsr(config.dataDir) : undefined;
  const res = await enroll(config.server, {
    token: config.enrollToken,
    ...(config.name ? { name: config.name } : {}),
    labels: config.labels,
    inventory,
    ...(csr ? { csr } : {}),
  }, trustedFetch(trust));
  if (res.clientCert) saveClientCert(config.dataDir, res.clientCert);
  const identity: Identity = {
    nodeId: res.nodeId,
    name: res.name,
    credential: res.credential,
    server: config.server,
    enrolledAt: Date.now(),
    // Pinned from the enrollment answer, trusted as far as the credential in it is.
    ...(res.signingKeys ? { signingKeys: { issuedAt: res.signingKeys.issuedAt, keys: res.signingKeys.keys } } : {}),
  };
  saveIdentity(config.dataDir, identity);
  log.info({ nodeId: res.nodeId, name: res.name }, 'enrolled');
  if (res.renamedFrom) {
    log.warn({ node: res.name, taken: res.renamedFrom }, `node name ${res.renamedFrom} is taken by another node: enrolled as ${res.name} (--name chooses one)`);
  }
  return identity;
}

export function startAgent(config: AgentConfig, options?: AgentOptions): Promise<Agent> {
  return Agent.start(config, options);
}
