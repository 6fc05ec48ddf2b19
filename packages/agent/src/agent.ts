import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import {
  PROTOCOL_UNSUPPORTED,
  ValidationError,
  type ConfigDesiredMessage,
  type ConfigStatusMessage,
  type CredentialRotateMessage,
  type DispatchMessage,
  type FieldIssue,
  type Inventory,
  type ServerMessage,
  type TaskFence,
} from '@steward/protocol';
import { jittered } from './backoff.js';
import { agentProtocolVersion } from './protocol-version.js';
import { layersOf, type AgentConfig, type ConfigLayers } from './config.js';
import { loadStoredConfig, saveAppliedConfig } from './config/applied-store.js';
import { applyLive, type InForce, type LiveApplyDeps } from './config/live-apply.js';
import { resolvePushedConfig } from './config/pushed.js';
import { AgentConnection } from './connection.js';
import { enrollFirst, EnrollmentError } from './enroll.js';
import { outputMessages } from './core/output.js';
import { Executor } from './executor.js';
import type { MediastackHeartbeat } from './inbound/heartbeat.js';
import type { InboundApi } from './inbound/server.js';
import type { InboundRunner } from './inbound/types.js';
import { CommandTrust } from './link/command-trust.js';
import { loadIdentity, saveIdentity, type Identity } from './link/identity.js';
import { Journal } from './journal.js';
import { ServerLink } from './link/server-link.js';
import { normalizeServers, ServerList } from './link/server-list.js';
import { checkServerUrl, resolveTrust, socketTlsOptions, type ServerTrust } from './link/tls.js';
import { createAgentLogger } from './logger.js';
import { moduleFolderNames } from './modules/folders.js';
import { ModuleHost } from './modules/host.js';
import { createRegistry, loadModules, resolveModuleSettings, type ModuleRegistry } from './modules/registry.js';
import type { AgentModule } from './modules/types.js';
import { PLUGINS_MODULE, startPlugins, type AgentPlugins } from './plugins/index.js';
import { detectCapabilities } from './system/capabilities.js';
import { collectInventory } from './system/inventory.js';
import { getStatsCollector } from './system/stats.js';
import { FenceClock } from './link/fence.js';
import { AGENT_VERSION } from './version.js';

export interface RunningAgent {
  nodeId: string;
  stop(): Promise<void>;
}

export interface AgentOptions {
  log?: Logger;
  /** Grace for running commands on stop (or of a module turned off) before they are cancelled. */
  drainMs?: number;
  /**
   * The local configuration sources (loadConfigLayers): a pushed config is merged between them
   * (docs/configuration.md, precedence). Without them the `config` given is the local config.
   */
  layers?: ConfigLayers;
}

/**
 * The node agent: enrolls once, then keeps one WebSocket to the control plane, heartbeats,
 * and runs what it is sent through the executor. Lifecycle: start → running → stop (drain).
 */
export class Agent implements RunningAgent {
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeatMs: number;
  /** The node's heartbeat interval as the control plane last sent it (welcome, `config`). */
  private serverHeartbeatMs: number | undefined;
  /** Pushed configs are applied one at a time, in the order they came. */
  private configChain: Promise<void> = Promise.resolve();
  private catalogQueued = false;
  /**
   * Why the pushed server list is not in force (none of it answered, or the URL policy refused
   * it); reported as `config.status rejected` for the revision that carries it. Null when it is.
   */
  private serversRefused: { servers: string[]; reason: string } | null = null;
  private seq = 0;
  private welcomed = false;
  private welcomeWaiters: (() => void)[] = [];
  private pruneTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  private inbound: InboundApi | null = null;
  private mediastackHeartbeat: MediastackHeartbeat | null = null;
  private plugins: AgentPlugins | null = null;
  /** Task fencing: stops the tasks when the control plane has not acknowledged us for the fence time (link/fence.ts). */
  private readonly fence = new FenceClock((f, silentMs) => this.fenceExpired(f, silentMs));

  private constructor(
    private current: InForce,
    private readonly layers: ConfigLayers,
    readonly identity: Identity,
    private readonly log: Logger,
    private readonly journal: Journal,
    private readonly inventory: Inventory,
    private readonly executor: Executor,
    private readonly connection: AgentConnection,
    private readonly drainMs: number,
    private readonly host: ModuleHost,
    private readonly trust: CommandTrust,
    private readonly link: ServerLink,
    /** The control planes to dial; live apply hands a pushed `servers` list to `servers.propose`. */
    readonly servers: ServerList,
  ) {
    this.heartbeatMs = current.heartbeatMs ?? current.config.heartbeatIntervalMs;
  }

  /** The configuration in force (local, or with the pushed config merged in). */
  get config(): AgentConfig {
    return this.current.config;
  }

  /** The revision of the pushed config in force; null when none was applied. */
  get configRevision(): string | null {
    return this.current.revision;
  }

  get nodeId(): string {
    return this.identity.nodeId;
  }

  static async start(localConfig: AgentConfig, options: AgentOptions = {}): Promise<Agent> {
    const log = options.log ?? createAgentLogger(localConfig.logLevel);
    mkdirSync(localConfig.dataDir, { recursive: true, mode: 0o700 });
    const layers = options.layers ?? layersOf(localConfig);
    const inForce = await initialConfig(localConfig, layers, log);
    const config = inForce.config;
    if (log.level !== config.logLevel) log.level = config.logLevel;
    for (const root of config.fs.roots) mkdirSync(root, { recursive: true });
    const registry = createRegistry(inForce.modules);
    const inventory = await collectInventory(config, registry, AGENT_VERSION);
    // Settled before anything is sent: the URL policy, the pinned CA, the client certificate.
    const servers = new ServerList({ dataDir: config.dataDir, local: config.servers, pinned: config.serversPinned ?? false, log });
    // The stored pushed list is dialled, so it is held to the same trust policy as the local one.
    const trustSettings = { ...config, servers: [...new Set([...config.servers, ...servers.servers])] };
    let trust = await resolveTrust(trustSettings);
    const identity = await ensureEnrolled(config, servers.servers, inventory, log, trust);
    trust = await resolveTrust(trustSettings);
    servers.setPolicy((url) => checkServerUrl(url, { trusted: trust.ca !== undefined, insecure: config.insecure }));
    // The one place identity.json is read; modules reach the control plane through this link,
    // at the server the WebSocket is on.
    const link = new ServerLink(() => servers.current, identity, trust);
    const journal = new Journal(config.dataDir);
    let agent: Agent | undefined;
    // Commands waiting for the first welcome (an upgraded agent confirms only once welcomed).
    const welcomeWaiters: (() => void)[] = [];
    let host: ModuleHost | undefined;
    const emit = (module: string, event: string, data: unknown) => agent?.send({ type: 'module.event', module, event, at: Date.now(), data });
    const executor = new Executor(journal, registry, config, log, {
      started: (commandId) => agent?.send({ type: 'command.started', commandId, at: Date.now() }),
      // An inbound API command goes out as a report: the control plane did not dispatch it.
      finished: (result) => agent?.send(journal.outgoing(result)),
      module: (name) => host?.instance(name),
      emit,
      progress: (commandId, progress) => agent?.send({ type: 'command.progress', commandId, progress }),
      output: (msg) => agent?.send(msg),
      welcomed: () => new Promise<void>((resolve) => (agent?.welcomed ? resolve() : welcomeWaiters.push(resolve))),
    }, link);
    const connection = new AgentConnection(
      {
        servers,
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
    const drainMs = options.drainMs ?? 10_000;
    host = new ModuleHost(registry, executor, { config: () => agent?.config ?? config, log, link, emit, drainMs });
    agent = new Agent(inForce, layers, identity, log, journal, inventory, executor, connection, drainMs, host, commandTrust, link, servers);
    agent.welcomeWaiters = welcomeWaiters;
    const started = agent;
    registry.onChange(() => started.catalogChanged());
    servers.onOutcome((o) => {
      if (o.state === 'committed') started.serversRefused = null;
      else if (o.state === 'reverted') started.serversRefused = { servers: o.tried, reason: o.reason };
      else if (o.state === 'refused') started.serversRefused = { servers: o.servers, reason: o.reason };
    });
    // A pushed list in force before the restart (or tried and given up) is tried again, safely.
    if (inForce.pushed.servers) servers.propose(inForce.pushed.servers);
    // Modules start before commands are recovered or received: handlers may need them.
    await host.startAll(inForce.settings);
    // Before recovery: a plugin's command interrupted by a restart can be re-run.
    const modules = host;
    agent.plugins = await startPlugins({
      config,
      log,
      link,
      emit,
      load: (mod) => modules.load(mod),
      unload: async (name) => void (await modules.disable(name, { keepRefusing: false })),
    });
    executor.recoverInterrupted();
    await agent.startMediastack(registry, executor, journal);
    connection.start();
    agent.pruneTimer = setInterval(() => journal.prune(Date.now()), 3_600_000);
    agent.pruneTimer.unref();
    log.info({ nodeId: identity.nodeId, name: identity.name, servers: servers.servers, modules: registry.modules(), configRevision: inForce.revision }, 'agent started');
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
    this.fence.helloSent();
    this.connection.send({
      type: 'hello',
      protocol: agentProtocolVersion(),
      inventory: this.inventory,
      fencing: true,
      running: this.executor.runningIds(),
      outbox: this.journal.outboxIds(),
      modules: this.moduleReports(),
    });
  }

  private moduleReports(): Record<string, unknown> | undefined {
    let out: Record<string, unknown> | undefined;
    const plugins = this.plugins?.report();
    if (plugins?.plugins.length) (out ??= {})[PLUGINS_MODULE] = plugins;
    for (const [name, inst] of this.host.started()) {
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
        this.serverHeartbeatMs = msg.heartbeatIntervalMs;
        this.heartbeatMs = this.current.heartbeatMs ?? msg.heartbeatIntervalMs;
        this.fence.welcomed(msg.fence);
        this.log.info({ nodeId: msg.nodeId, name: msg.name }, 'connected to the control plane');
        if (msg.signingKeys) this.trust.offerKeySet(msg.signingKeys, Date.now());
        // Output and results from while we were away (or whose ack was lost) go first; a
        // command's output before its result, as it went when connected.
        outputMessages(this.journal.pendingOutput(), (m) => this.connection.send(m));
        for (const result of this.journal.outbox()) this.connection.send(result);
        // A control plane restored from a backup asks what we received after it (clocks may differ by a minute).
        if (msg.restored) this.connection.send({ type: 'command.recent', commandIds: this.journal.receivedBetween(msg.restored.backupAt - 60_000, msg.restored.restoredAt + 60_000) });
        this.scheduleHeartbeat(0);
        for (const resolve of this.welcomeWaiters.splice(0)) resolve();
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
        this.serverHeartbeatMs = msg.heartbeatIntervalMs;
        this.heartbeatMs = this.current.heartbeatMs ?? msg.heartbeatIntervalMs;
        // Only where the welcome set a fence: acks come only to an agent the control plane fences.
        if (this.fence.current) this.fence.configure(msg.fence);
        return this.scheduleHeartbeat(0);
      case 'heartbeat.ack':
        return this.fence.acked(msg.seq);
      case 'config.desired':
        this.configChain = this.configChain
          .then(async () => this.send(await this.applyDesired(msg)))
          .catch((err: unknown) => this.log.error({ err }, 'applying a pushed configuration failed'));
        return;
      case 'error':
        if (msg.code === PROTOCOL_UNSUPPORTED) return this.log.error({ code: msg.code, details: msg.details }, `control plane refused this agent: ${msg.message}`);
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
      const seq = this.seq++;
      // Its sending time, before the send: the fence clock must not count from later than that.
      this.fence.heartbeatSent(seq);
      this.send({
        type: 'heartbeat',
        seq,
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

  /**
   * A pushed config (`config.desired`): validated whole against the local layers, applied live,
   * stored, and answered with `config.status`. A bad or unappliable one is `rejected` with the
   * reason and the fields, and the config in force stays as it was.
   */
  async applyDesired(msg: Pick<ConfigDesiredMessage, 'revision' | 'config'>): Promise<ConfigStatusMessage> {
    const status = (state: 'applied' | 'rejected', reason?: string, issues?: FieldIssue[]): ConfigStatusMessage => ({
      type: 'config.status',
      revision: msg.revision,
      state,
      ...(reason ? { reason: reason.slice(0, 2000) } : {}),
      ...(issues?.length ? { issues: issues.slice(0, 100).map((i) => ({ field: i.field.slice(0, 500), rule: i.rule.slice(0, 500) })) } : {}),
      at: Date.now(),
    });
    const rejected = (reason: string, issues?: FieldIssue[]) => {
      this.log.warn({ revision: msg.revision, issues }, `refused a pushed configuration: ${reason}`);
      return status('rejected', reason, issues);
    };
    // The rest of a revision applies at once; its server list only once a server of it answered.
    const applied = () => {
      const refused = this.serversRefused;
      if (!refused || !msg.config.servers || !isDeepStrictEqual(normalizeServers(msg.config.servers), refused.servers)) return status('applied');
      return rejected(`servers: ${refused.reason}`, [{ field: 'servers', rule: 'a server of the list must welcome the agent, within the URL policy' }]);
    };
    if (msg.revision === this.current.revision) return applied();
    if (this.stopping) return rejected('the agent is shutting down');
    let next: InForce;
    try {
      const plugins = this.host.registry.loaded().filter((m) => !builtinModule(m));
      next = { ...(await resolvePushedConfig(this.layers, msg.config, { plugins })), revision: msg.revision, pushed: msg.config };
    } catch (e) {
      if (e instanceof ValidationError) return rejected(e.message, (e.details as { issues?: FieldIssue[] } | undefined)?.issues);
      return rejected(e instanceof Error ? e.message : String(e));
    }
    const prev = this.current;
    try {
      await applyLive(this.liveDeps(), prev, next);
    } catch (e) {
      return rejected((e as Error).message);
    }
    this.current = next;
    try {
      await saveAppliedConfig(this.config.dataDir, { revision: msg.revision, config: msg.config, appliedAt: Date.now() });
    } catch (e) {
      // Not stored means a restart would come back without it: undone, so what runs is what is stored.
      this.current = prev;
      await applyLive(this.liveDeps(), next, prev).catch((err: unknown) => this.log.error({ err }, 'could not undo a configuration that was not stored'));
      return rejected(`the configuration could not be stored in the data dir, so it was undone: ${(e as Error).message}`);
    }
    this.log.info({ revision: msg.revision, modules: this.host.registry.modules() }, 'pushed configuration applied');
    return applied();
  }

  private liveDeps(): LiveApplyDeps {
    return {
      host: this.host,
      executor: this.executor,
      log: this.log,
      heartbeat: (ms) => {
        this.heartbeatMs = ms ?? this.serverHeartbeatMs ?? this.config.heartbeatIntervalMs;
        // At once: a heartbeat now, the next ones at the new interval.
        if (this.welcomed) this.scheduleHeartbeat(0);
      },
      capabilities: (list) => {
        void detectCapabilities().then((detected) => {
          this.inventory.capabilities = [...new Set([...detected, ...list])].sort().slice(0, 1024);
          this.sendCatalog();
        });
      },
      servers: (urls) => this.servers.propose(urls),
      plugins: async (list) => this.plugins?.apply(list),
    };
  }

  /** The registry changed (a module turned on or off, a plugin loaded): one `catalog.update` per burst. */
  private catalogChanged(): void {
    this.inventory.commandTypes = this.host.registry.types();
    this.inventory.modules = this.host.registry.modules();
    this.sendCatalog();
  }

  /** Sends the catalog and capabilities as they are now; several changes in one turn go as one. */
  private sendCatalog(): void {
    if (this.catalogQueued) return;
    this.catalogQueued = true;
    setImmediate(() => {
      this.catalogQueued = false;
      const { commandTypes, modules, capabilities } = this.inventory;
      this.send({ type: 'catalog.update', commandTypes, modules, capabilities });
    });
  }

  /**
   * Unacknowledged for the fence time: the control plane may count this node as lost and place
   * its tasks elsewhere once the kill grace and margin have passed too, so they stop now.
   */
  private fenceExpired(f: TaskFence, silentMs: number): void {
    for (const [name, inst] of this.host.started()) {
      if (!inst.fence) continue;
      try {
        const n = inst.fence(f.killGraceMs, `no acknowledgement from the control plane for ${Math.round(silentMs / 1000)}s (fence ${Math.round(f.afterMs / 1000)}s)`);
        if (n > 0) this.log.warn({ module: name, stopped: n, silentMs: Math.round(silentMs), fenceMs: f.afterMs }, 'fenced: stopping running tasks, the control plane may place them elsewhere');
      } catch (err) {
        this.log.error({ err, module: name }, 'fencing a module failed');
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.fence.stop();
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.mediastackHeartbeat?.stop();
    // No new inbound requests; those waiting on a command get their answer as it drains.
    const inboundClosed = this.inbound?.close();
    // Running commands get a grace to finish; their results go out while we are still connected.
    await this.executor.drain(this.drainMs);
    await inboundClosed;
    await this.configChain;
    await this.plugins?.stop();
    await this.host.stopAll();
    await this.connection.stop();
    this.journal.close();
    this.log.info('agent stopped');
  }
}

function builtinModule(mod: AgentModule): boolean {
  return moduleFolderNames().includes(mod.name);
}

/**
 * The configuration to start with: the pushed one stored in the data dir, merged with today's
 * local layers, when it still validates; else the local one (the control plane sends the
 * current pushed config again after welcome).
 */
async function initialConfig(local: AgentConfig, layers: ConfigLayers, log: Logger): Promise<InForce> {
  const stored = await loadStoredConfig(layers, local.dataDir, log);
  if (stored) return stored;
  const registry = await loadModules(local.modules);
  const settings = resolveModuleSettings(registry.loaded(), local.moduleSettings);
  return { config: local, settings, modules: registry.loaded(), heartbeatMs: undefined, revision: null, pushed: {} };
}

async function ensureEnrolled(config: AgentConfig, servers: readonly string[], inventory: Inventory, log: Logger, trust: ServerTrust): Promise<Identity> {
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
  // node-forge (the CSR) is loaded only here: an enrolled agent never needs it.
  const certs = servers.some((s) => s.startsWith('https:')) ? await import('./link/client-cert.js') : undefined;
  const csr = certs?.newClientCsr(config.dataDir);
  const { server, res } = await enrollFirst(servers, {
    token: config.enrollToken,
    ...(config.name ? { name: config.name } : {}),
    labels: config.labels,
    inventory,
    ...(csr ? { csr } : {}),
  }, trust);
  if (res.clientCert) (certs ?? (await import('./link/client-cert.js'))).saveClientCert(config.dataDir, res.clientCert);
  const identity: Identity = {
    nodeId: res.nodeId,
    name: res.name,
    credential: res.credential,
    server,
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
