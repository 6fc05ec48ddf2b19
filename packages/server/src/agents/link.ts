import type { FastifyInstance } from 'fastify';
import { ConflictError, newId, type PushedConfig, type Stats } from '@steward/protocol';
import type { Relay, RelayMessage } from '../cluster/relay.js';
import type { Context } from '../core/context.js';
import { agentConnectionCap, openFileLimit } from '../core/open-files.js';
import { credentialIdOf, makeCredential } from '../security/secrets.js';
import type { CommandSigner } from '../security/signing-key.js';
import { listNodeRows, setNextCredential } from '../store/queries/nodes.js';
import { isStoreUnavailable } from '../store/unavailable.js';
import type { CommandsTable } from '../store/schema.js';
import { Dispatcher } from './dispatcher.js';
import { AgentGateway, type CommandReceiver } from './gateway.js';
import { AgentHub } from './hub.js';
import { HandshakeAdmission, type HandshakeTicket, type RefusalReason } from './admission.js';
import { sweepLiveness } from './liveness.js';
import type { ModuleHandlers } from './module-handlers.js';
import type { ConfigSource } from './config-source.js';
import { authenticateNode, NodeUnknownError } from './node-auth.js';
import { NodeRateLimiter } from './rate-limits.js';
import { AgentSession, type SessionLimits } from './session.js';
import type { Channel, Transport, TransportHost } from './transport.js';
import { wire } from './wire.js';
import { taskFence } from '../core/task-fence.js';

/**
 * Everything the rest of the control plane may do to nodes. Services receive this; nothing
 * outside `agents/` holds a connection or builds a wire message.
 */
export interface AgentLink {
  /** Sends stored commands to the node now (here or through another replica); else its next hello does. */
  deliver(nodeId: string, rows: CommandsTable[]): void;
  /** Tells the node to stop a command (it may still be running or on the wire). */
  cancel(nodeId: string, commandId: string): void;
  /**
   * Input and window size for a running interactive command (`shell.session`), sent to the node
   * wherever it is connected (through the relay for another replica's node; best effort).
   */
  sessionInput(nodeId: string, commandId: string, seq: number, data: string): void;
  sessionResize(nodeId: string, commandId: string, cols: number, rows: number): void;
  /** Changes the node's heartbeat interval live. */
  configure(nodeId: string, config: { heartbeatIntervalMs: number }): void;
  /** Sends the node its effective pushed config (`config.desired`) wherever it is connected. */
  pushConfig(nodeId: string, revision: string, config: PushedConfig): void;
  /** Binds where the desired config sent after each welcome comes from, and where agents' answers go. */
  serveConfig(source: ConfigSource): void;
  /** Closes the node's connection wherever it is held; the agent redials unless refused. */
  disconnect(nodeId: string, code: number, reason: string): void;
  /** True when this replica holds a ready connection of the node. */
  connected(nodeId: string): boolean;
  /** Connections this replica holds. */
  count(): number;
  /** The control-plane halves of agent modules register here for their reports and events. */
  readonly modules: ModuleHandlers;
  /** Told of every stored heartbeat (samples, metrics); must not throw or block. */
  onHeartbeat(observer: (nodeId: string, stats: Stats, at: number) => void): () => void;
  /**
   * New signing key: announced (signed by the old key too) to every online node, then used for
   * new dispatches; the old keys stay valid `overlapMs`, then agents refuse them.
   */
  rotateSigningKey(overlapMs: number): Promise<{ keyId: string; retiredIds: string[]; notAfter: number; announcedTo: number }>;
  /** Sends the node a new credential; it replaces the old one once the agent confirms it stored it. */
  rotateCredential(nodeId: string): Promise<{ credentialId: string }>;
}

/**
 * The one link between the control plane and its agents: connections from every transport,
 * the dispatcher, the gateway that turns agent messages into store changes, liveness, and the
 * relay to other replicas. Lifecycle: new → receive(commands) → install(app) → … → close().
 */
export class Link implements AgentLink {
  private readonly hub = new AgentHub();
  /**
   * A sweep failed because the store did not answer (a PostgreSQL restart), and when it
   * answered again: heartbeats sent meanwhile were not stored, so silence before that moment
   * is the store's, not the nodes' (liveness.ts).
   */
  private storeFailed = false;
  private storeBackAt = 0;
  /** When an agent was last refused with 503 agents_busy for the handshake rate (a reconnect storm); 0: never. */
  private askedToWaitAt = 0;
  private readonly dispatcher: Dispatcher;
  private readonly gateway: AgentGateway;
  private readonly transports: Transport[] = [];
  private receiver: CommandReceiver | null = null;
  private readonly sessionLimits: SessionLimits;
  /** Bounds agent handshakes in progress and per second (a reconnect storm after a restart). */
  private readonly admission: HandshakeAdmission;

  constructor(
    private readonly ctx: Context,
    private readonly replicaId: string,
    private readonly signer: CommandSigner,
  ) {
    this.dispatcher = new Dispatcher(ctx, this.hub, signer);
    const dropped = ctx.metrics.counter({
      name: 'steward_agent_messages_dropped_total',
      help: 'Agent messages not handled: over the rate limit (heartbeat_rate, event_rate), a full session queue (queue_full), a frame over the size limit (frame_size)',
      labelNames: ['reason'],
    });
    const limits = ctx.settings.limits;
    const busy = ctx.metrics.counter({
      name: 'steward_agent_handshakes_refused_total',
      help: 'Agent connections refused with 503 agents_busy before the upgrade: too many handshakes in progress (in_progress), over the accept rate (rate), or as many connections held as allowed (capacity)',
      labelNames: ['reason'],
    });
    const fileLimit = openFileLimit();
    const maxConnections = agentConnectionCap(limits.agentConnections, fileLimit);
    if (Number.isFinite(maxConnections)) {
      ctx.metrics.gauge({ name: 'steward_agent_connections_limit', help: 'Agent connections this process may hold (limits.agentConnections, else its open-file limit minus a reserve)' }).set(maxConnections);
    }
    let warnedFullAt = -Infinity;
    const refused = (reason: RefusalReason): void => {
      busy.inc({ reason });
      if (reason !== 'capacity') {
        // Agents told to wait are on their way back: the liveness sweep's guard holds meanwhile.
        this.askedToWaitAt = ctx.now();
        return;
      }
      if (ctx.now() - warnedFullAt < 60_000) return;
      warnedFullAt = ctx.now();
      ctx.log.warn(
        { maxConnections, openFileLimit: fileLimit, connected: this.hub.size },
        'agent connections at this process\'s cap: further agents are refused (503 agents_busy) until some leave; raise the open-file limit (LimitNOFILE, ulimit -n) or STEWARD_LIMIT_AGENT_CONNECTIONS, or add a replica',
      );
    };
    this.admission = new HandshakeAdmission({
      maxInProgress: limits.agentHandshakes,
      acceptsPerSecond: limits.agentAcceptsPerSecond,
      ...(Number.isFinite(maxConnections) ? { maxConnections, connections: () => this.hub.size } : {}),
      refused,
    });
    this.sessionLimits = { queue: limits.sessionQueue, queueBytes: limits.sessionQueueBytes, meter: new NodeRateLimiter(limits, dropped, ctx.log), dropped, now: ctx.now };
    // The receiver is bound later (the command pipeline is built on this link).
    this.gateway = new AgentGateway(ctx, this.hub, this.dispatcher, {
      started: (n, c) => this.commands().started(n, c),
      finished: (n, m) => this.commands().finished(n, m),
      progressed: (n, c, p) => this.commands().progressed(n, c, p),
      reported: (n, m) => this.commands().reported(n, m),
      streamed: (n, m) => this.commands().streamed(n, m),
      declared: (n, t) => this.commands().declared(n, t),
      recent: (n, ids) => this.commands().recent(n, ids),
    }, signer);
  }

  get modules(): ModuleHandlers {
    return this.gateway.modules;
  }

  /** Binds the command pipeline that stores what agents report. */
  receive(receiver: CommandReceiver): void {
    this.receiver = receiver;
  }

  /** Adds a transport; installed by `install`. */
  use(transport: Transport): this {
    this.transports.push(transport);
    return this;
  }

  /** Installs every transport (routes, listeners); call before the HTTP server listens. */
  async install(app: FastifyInstance | null): Promise<void> {
    for (const t of this.transports) await t.install(app as FastifyInstance, this.host);
  }

  /** Joins a cluster of replicas: messages for nodes held elsewhere go through the relay. */
  joinRelay(relay: Relay): void {
    this.hub.relay = relay;
  }

  /** What another replica asked of this one; acts only on connections held here. */
  onRelay(m: Exclude<RelayMessage, { kind: 'event' }>): void {
    if (m.kind === 'dispatch') void this.dispatcher.redeliver(m.nodeId, m.ids);
    else if (m.kind === 'send') this.hub.sendLocal(m.nodeId, m.msg);
    else this.hub.get(m.nodeId)?.close(m.code, m.reason);
  }

  readonly host: TransportHost = {
    authenticate: async (authorization) => {
      try {
        return (await authenticateNode(this.ctx.store.db, authorization)).id;
      } catch (err) {
        // Named in the log: after a restore from a backup, this is a node enrolled since then.
        if (err instanceof NodeUnknownError) this.ctx.log.warn({ nodeId: (err.details as { nodeId: string }).nodeId }, 'agent connection refused: node_unknown (deleted, or enrolled after the backup this store was restored from)');
        throw err;
      }
    },
    admit: () => this.admission.admit(),
    offer: () => this.admission.offer(),
    attach: (nodeId: string, channel: Channel, handshake?: HandshakeTicket) => {
      const session = new AgentSession(nodeId, `${this.replicaId}:${newId('conn')}`, channel, this.gateway, this.ctx.log, this.sessionLimits);
      if (handshake) session.handshake = handshake;
      this.hub.add(session);
      return session;
    },
  };

  deliver(nodeId: string, rows: CommandsTable[]): void {
    this.dispatcher.push(nodeId, rows);
  }

  cancel(nodeId: string, commandId: string): void {
    this.hub.send(nodeId, wire.cancel(commandId));
  }

  sessionInput(nodeId: string, commandId: string, seq: number, data: string): void {
    this.hub.send(nodeId, wire.sessionInput(commandId, seq, data));
  }

  sessionResize(nodeId: string, commandId: string, cols: number, rows: number): void {
    this.hub.send(nodeId, wire.sessionResize(commandId, cols, rows));
  }

  configure(nodeId: string, config: { heartbeatIntervalMs: number }): void {
    // The fence grows with the interval (core/task-fence.ts); agents before fencing ignore it.
    this.hub.send(nodeId, wire.config(config.heartbeatIntervalMs, taskFence(this.ctx.settings, config.heartbeatIntervalMs)));
  }

  pushConfig(nodeId: string, revision: string, config: PushedConfig): void {
    this.hub.send(nodeId, wire.configDesired(revision, config));
  }

  serveConfig(source: ConfigSource): void {
    this.gateway.config = source;
  }

  disconnect(nodeId: string, code: number, reason: string): void {
    this.hub.disconnect(nodeId, code, reason);
  }

  connected(nodeId: string): boolean {
    return this.hub.get(nodeId)?.ready === true;
  }

  count(): number {
    return this.hub.size;
  }

  onHeartbeat(observer: (nodeId: string, stats: Stats, at: number) => void): () => void {
    return this.gateway.onHeartbeat(observer);
  }

  async rotateSigningKey(overlapMs: number): Promise<{ keyId: string; retiredIds: string[]; notAfter: number; announcedTo: number }> {
    const db = this.ctx.store.db;
    const now = this.ctx.now();
    const rotation = await this.signer.rotate(db, now, overlapMs);
    // Signed by the old key (the one agents know); sent in the same tick as the switch, so no
    // dispatch signed by the new key can overtake the announcement on any socket.
    const online = (await listNodeRows(db, { status: 'online' })).filter((n) => n.protocol === 'steward' && n.revoked_at == null);
    const set = await this.signer.keySet(db, now);
    rotation.use();
    for (const n of online) this.hub.send(n.id, wire.signingKeys(set));
    this.ctx.log.info({ keyId: rotation.keyId, retired: rotation.retiredIds, notAfter: rotation.notAfter, nodes: online.length }, 'command signing key rotated');
    return { keyId: rotation.keyId, retiredIds: rotation.retiredIds, notAfter: rotation.notAfter, announcedTo: online.length };
  }

  async rotateCredential(nodeId: string): Promise<{ credentialId: string }> {
    const { credential, hash } = makeCredential(nodeId);
    if (!(await setNextCredential(this.ctx.store.db, nodeId, hash))) throw new ConflictError('node_revoked', `node ${nodeId} was revoked or deleted meanwhile`);
    const credentialId = credentialIdOf(hash);
    this.hub.send(nodeId, wire.credentialRotate(credentialId, credential, this.signer.signCredential(nodeId, credentialId, credential, this.ctx.now())));
    return { credentialId };
  }

  /** Marks silent or disconnected nodes offline; run on the sweep interval. */
  async sweep(): Promise<number> {
    try {
      if (this.storeFailed) {
        await this.ctx.store.ping();
        this.storeFailed = false;
        this.storeBackAt = this.ctx.now();
      }
      return await sweepLiveness(this.ctx, this.hub, this.storeBackAt, this.askedToWaitAt);
    } catch (err) {
      if (isStoreUnavailable(err)) this.storeFailed = true;
      throw err;
    }
  }

  /** Closes every connection (agents redial elsewhere or later) and stops the transports. */
  async close(code = 1001, reason = 'control plane shutting down'): Promise<void> {
    await this.hub.closeAll(code, reason);
    for (const t of [...this.transports].reverse()) await t.stop?.();
  }

  private commands(): CommandReceiver {
    if (!this.receiver) throw new Error('agent link: no command receiver bound');
    return this.receiver;
  }
}
