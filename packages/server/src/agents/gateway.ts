import {
  agentAccepts,
  capInventory,
  capStats,
  isTerminalCommandState,
  type CommandProgressMessage,
  type CommandState,
  type HeartbeatMessage,
  type Stats,
  type HelloMessage,
  type CommandResultMessage,
  type CommandReportedMessage,
  type ModuleEventMessage,
  type CommandTypeInfo,
  type CredentialRotatedMessage,
  type CommandOutputMessage,
  type CommandRecentMessage,
  type Inventory,
  type ConfigStatusMessage,
  type CatalogUpdateMessage,
} from '@steward/protocol';
import { IN_FLIGHT_MS, type Dispatcher } from './dispatcher.js';
import type { AgentHub } from './hub.js';
import type { Context } from '../core/context.js';
import { publishInventoryClamped, publishNodeChanged, publishNodeStatus } from '../events/node-status.js';
import { commandStatesOnNode } from '../store/queries/commands.js';
import { clearConnection, confirmNextCredential, getNodeRow, transitionNode, updateNodeRow } from '../store/queries/nodes.js';
import { credentialIdOf } from '../security/secrets.js';
import { EMPTY_INVENTORY, fromJson } from '../store/rows.js';
import type { CommandSigner } from '../security/signing-key.js';
import type { CommandsTable, NodesTable } from '../store/schema.js';
import { HeartbeatBatch } from './heartbeat-batch.js';
import { ModuleHandlers } from './module-handlers.js';
import type { AgentSession, SessionHandlers, VersionRefusal } from './session.js';
import type { Counter } from 'prom-client';
import type { ConfigSource, DesiredConfig } from './config-source.js';
import { wire } from './wire.js';
import { taskFence } from '../core/task-fence.js';

/**
 * What the command pipeline learns from agents. The link calls it; it never calls the link back
 * through this (it delivers through `AgentLink`), so the arrow runs one way: commands → agents.
 */
export interface CommandReceiver {
  /** The agent began running a command (or a heartbeat shows it running). */
  started(nodeId: string, commandId: string): Promise<void>;
  /** The agent's result; stored once, a repeat changes nothing. Acked to the agent after it resolves. */
  finished(nodeId: string, msg: CommandResultMessage): Promise<void>;
  /** How far a running command is, as its agent says; best effort, the latest one is kept. */
  progressed(nodeId: string, commandId: string, progress: CommandProgressMessage['progress']): Promise<void>;
  /**
   * Output chunks of a running command; stored once each, in seq order. The answer is what to
   * acknowledge (`upTo`) or why they were refused.
   */
  streamed(nodeId: string, msg: CommandOutputMessage): Promise<{ ok: true; upTo: number } | { ok: false; code: string; message: string; details?: unknown; upTo?: number }>;
  /** A command the agent ran on its own inbound API; recorded once in the node's history. */
  reported(nodeId: string, msg: CommandReportedMessage): Promise<void>;
  /** The command types a node declared in its hello. */
  declared(nodeId: string, types: CommandTypeInfo[]): void;
  /** Ids the node received between the backup and the restore of this store (answer to a welcome's `restored`). */
  recent(nodeId: string, commandIds: string[]): Promise<void>;
}

/** Turns agent messages into store changes and answers. */
export class AgentGateway implements SessionHandlers {
  /** The control-plane halves of agent modules (monitors, services, tasks…) register here. */
  readonly modules: ModuleHandlers;
  private readonly heartbeats: HeartbeatBatch;
  /** Told of every stored heartbeat (samples for charts, metrics); must not throw or block. */
  private readonly heartbeatObservers = new Set<(nodeId: string, stats: Stats, at: number) => void>();
  /** Nodes already warned about clamped heartbeat stats. */
  private readonly clampWarned = new Set<string>();
  /** The agent-config feature, once it started; until then no config is pushed. */
  config: ConfigSource | null = null;
  /** `steward_agent_protocol_refused_total{verdict}`: hellos refused for their protocol version. */
  private readonly versionRefusals: Counter<'verdict'>;

  constructor(
    private readonly ctx: Context,
    private readonly hub: AgentHub,
    private readonly dispatcher: Dispatcher,
    private readonly commands: CommandReceiver,
    private readonly signer: CommandSigner,
  ) {
    this.modules = new ModuleHandlers(ctx.log);
    this.heartbeats = new HeartbeatBatch(ctx);
    this.versionRefusals = ctx.metrics.counter({
      name: 'steward_agent_protocol_refused_total',
      help: 'Agent connections refused for their protocol version: agent_too_old (upgrade the agent), agent_too_new (upgrade the control plane)',
      labelNames: ['verdict'],
    });
  }

  onHeartbeat(observer: (nodeId: string, stats: Stats, at: number) => void): () => void {
    this.heartbeatObservers.add(observer);
    return () => this.heartbeatObservers.delete(observer);
  }

  async hello(session: AgentSession, msg: HelloMessage): Promise<void> {
    const now = this.ctx.now();
    const inventory = capInventory(msg.inventory);
    // A served hello clears an earlier version refusal (the agent or the control plane was upgraded).
    const fields = { inventory: JSON.stringify(inventory.value), connection_id: session.connectionId, last_seen_at: now, version_skew: null };
    const db = this.ctx.store.db;
    // Before the node turns online: from that commit to the welcome, as little as possible is
    // awaited, so a node listed `online` is one whose agent is (about to be) welcomed.
    const keys = await this.signer.keySet(db, now);
    // Group-committed with the other hellos of the moment: a reconnect storm's status writes
    // share transactions instead of one commit per agent.
    const { moved, row } = await this.ctx.store.batch(async (tx) => {
      const moved = await transitionNode(tx, session.nodeId, 'online', now, fields);
      return { moved, row: moved ?? (await updateNodeRow(tx, session.nodeId, fields)) };
    });
    if (!row) {
      session.close(4003, 'node no longer exists');
      return;
    }
    if (moved) publishNodeStatus(this.ctx, row, 'connected');
    if (inventory.clamped.length) {
      // Clamped, not refused: a mistaken agent still connects and can be looked at.
      this.ctx.log.warn({ nodeId: row.id, clamped: inventory.clamped }, 'hello: inventory figures past their caps were clamped');
      publishInventoryClamped(this.ctx, row, inventory.clamped);
    }
    this.commands.declared(row.id, inventory.value.commandTypes);
    // Worked out before the welcome: between the welcome and `ready` nothing may be awaited, or
    // the agent's first heartbeat (sent on welcome) would find the session not ready.
    const desired = await this.desiredConfig(row);
    // The welcome acknowledges the hello, whose receipt is stored as last_seen_at above.
    // Only to an agent that can be sent the acks (one claiming protocol 1.0 would fence for want of them).
    session.fencing = msg.fencing === true && session.protocol !== null && agentAccepts(session.protocol, 'heartbeat.ack');
    const fence = session.fencing ? taskFence(this.ctx.settings, row.heartbeat_interval_ms) : undefined;
    session.send(wire.welcome(row.id, row.name, row.heartbeat_interval_ms, now, keys, restoredRecently(this.ctx.settings.restored, now), fence));
    // Right after welcome, before any dispatch: the agent runs commands under its current config.
    if (desired) session.send(wire.configDesired(desired.revision, desired.config));
    session.ready = true;
    session.welcomed();
    // Recorded once sent (a crash before it only makes the repair pass send it again).
    if (desired) await this.config?.sent(row.id, desired.revision).catch((err) => this.ctx.log.warn({ err, nodeId: row.id }, 'could not record the config sent to the node; the repair pass sends it again'));
    await this.dispatcher.deliverAll(session.nodeId);
    await this.ackKnownResults(session, msg.outbox);
    await this.modules.reports(session.nodeId, msg.modules, now);
  }

  async heartbeat(session: AgentSession, msg: HeartbeatMessage): Promise<void> {
    const now = this.ctx.now();
    const capped = capStats(msg.stats);
    if (capped.clamped.length && !this.clampWarned.has(session.nodeId)) {
      this.clampWarned.add(session.nodeId); // once per node and process: heartbeats come every few seconds
      this.ctx.log.warn({ nodeId: session.nodeId, clamped: capped.clamped }, 'heartbeat: stats past their caps were clamped');
    }
    const stats = JSON.stringify(capped.value);
    const row = await this.heartbeats.record({ id: session.nodeId, stats, connectionId: session.connectionId, now });
    if (!row) return session.close(4003, 'node no longer exists');
    // Stored: last_seen_at ≥ its receipt ≥ its sending, the agent's fencing clock may restart from there.
    if (session.fencing) session.send(wire.heartbeatAck(msg.seq));
    for (const observe of this.heartbeatObservers) {
      try {
        observe(session.nodeId, capped.value, now);
      } catch (err) {
        this.ctx.log.warn({ err }, 'heartbeat observer failed');
      }
    }
    if (row.status === 'offline' || row.status === 'reconnecting') {
      const moved = await transitionNode(this.ctx.store.db, session.nodeId, 'online', now);
      if (moved) publishNodeStatus(this.ctx, moved, 'heartbeat after offline');
    }
    await this.reconcile(session, msg, row.unfinished, now);
    await this.modules.reports(session.nodeId, msg.modules, now);
  }

  moduleEvent(session: AgentSession, msg: ModuleEventMessage): Promise<void> {
    return this.modules.event(session.nodeId, msg.module, msg.event, msg.data, msg.at);
  }

  /** The agent stored its new credential: from now on only that one works. */
  async credentialRotated(session: AgentSession, msg: CredentialRotatedMessage): Promise<void> {
    // The credential id is derived from the pending hash, so any replica can confirm it and a
    // late answer to an earlier rotation never promotes a newer credential the agent lacks.
    const hash = (await getNodeRow(this.ctx.store.db, session.nodeId))?.next_credential_hash;
    if (!hash || credentialIdOf(hash) !== msg.credentialId) return;
    if (await confirmNextCredential(this.ctx.store.db, session.nodeId, hash)) {
      this.ctx.log.info({ nodeId: session.nodeId }, 'node credential rotated; the old one no longer works');
    }
  }

  started(session: AgentSession, commandId: string): Promise<void> {
    return this.commands.started(session.nodeId, commandId);
  }

  progress(session: AgentSession, msg: CommandProgressMessage): Promise<void> {
    return this.commands.progressed(session.nodeId, msg.commandId, msg.progress);
  }

  async result(session: AgentSession, msg: CommandResultMessage): Promise<void> {
    await this.commands.finished(session.nodeId, msg);
    // Acknowledged only once stored: until then the agent keeps the result in its outbox.
    session.send(wire.resultAck([msg.commandId]));
  }

  async output(session: AgentSession, msg: CommandOutputMessage): Promise<void> {
    const verdict = await this.commands.streamed(session.nodeId, msg);
    if (!verdict.ok) {
      this.ctx.log.warn({ nodeId: session.nodeId, commandId: msg.commandId, code: verdict.code }, `refused command output: ${verdict.message}`);
      session.send(wire.error(verdict.code, verdict.message, verdict.details));
    }
    // Acknowledged only once stored (or past the cap): until then the chunks stay in the agent's outbox.
    if (verdict.upTo !== undefined && verdict.upTo >= 0) session.send(wire.outputAck(msg.commandId, verdict.upTo));
  }

  async reported(session: AgentSession, msg: CommandReportedMessage): Promise<void> {
    await this.commands.reported(session.nodeId, msg);
    session.send(wire.resultAck([msg.commandId]));
  }

  async recent(session: AgentSession, msg: CommandRecentMessage): Promise<void> {
    await this.commands.recent(session.nodeId, msg.commandIds);
  }

  /** The agent's answer to a `config.desired` (issue 15); stored by the agent-config feature. */
  async configStatus(session: AgentSession, msg: ConfigStatusMessage): Promise<void> {
    await this.config?.status(session.nodeId, msg);
  }

  /** Only Steward's own agents take pushed config; a seed protocol's proxy would not understand it. */
  private async desiredConfig(row: NodesTable): Promise<DesiredConfig | null> {
    if (!this.config || (row.protocol ?? 'steward') !== 'steward') return null;
    try {
      return await this.config.desired(row);
    } catch (err) {
      // The welcome stands: the sweep's re-check sends the config later.
      this.ctx.log.warn({ err, nodeId: row.id }, 'could not work out the node\'s desired config');
      return null;
    }
  }

  /**
   * The agent's command catalog changed at run time (a module turned on or off, a plugin loaded),
   * or its capabilities: taken like a hello's, so payload checks and the node's stored inventory
   * (the dashboard's run box, other replicas, task placement at the next task report) follow.
   * Bounded by the message schema and the inventory caps.
   */
  async catalogUpdate(session: AgentSession, msg: CatalogUpdateMessage): Promise<void> {
    const row = await getNodeRow(this.ctx.store.db, session.nodeId);
    if (!row) return session.close(4003, 'node no longer exists');
    const stored = fromJson<Inventory>(row.inventory) ?? EMPTY_INVENTORY;
    const inventory = capInventory({ ...stored, commandTypes: msg.commandTypes, modules: msg.modules, ...(msg.capabilities ? { capabilities: msg.capabilities } : {}) });
    await updateNodeRow(this.ctx.store.db, session.nodeId, { inventory: JSON.stringify(inventory.value) });
    this.commands.declared(session.nodeId, inventory.value.commandTypes);
    this.ctx.log.info({ nodeId: session.nodeId, modules: inventory.value.modules, types: inventory.value.commandTypes.length }, 'node command catalog changed');
  }

  /**
   * The node's agent speaks a protocol version this control plane does not serve: kept on the
   * node (only an authenticated connection gets this far) so the node list shows why it stays offline.
   */
  async versionRefused(session: AgentSession, refusal: VersionRefusal): Promise<void> {
    const at = this.ctx.now();
    const before = (await getNodeRow(this.ctx.store.db, session.nodeId))?.version_skew;
    const row = await updateNodeRow(this.ctx.store.db, session.nodeId, { version_skew: JSON.stringify({ ...refusal, at }) });
    // Told once per new refused version, not on every retry: lists and the dashboard refresh.
    const was = fromJson<VersionRefusal>(before ?? null);
    if (row && was?.agentProtocol !== refusal.agentProtocol) {
      publishNodeChanged(this.ctx, row, 'updated');
      this.ctx.log.warn({ nodeId: session.nodeId, ...refusal }, 'refused an agent for its protocol version');
    }
    this.versionRefusals.inc({ verdict: refusal.verdict });
  }

  async closed(session: AgentSession): Promise<void> {
    this.hub.remove(session);
    await clearConnection(this.ctx.store.db, session.nodeId, session.connectionId, this.ctx.now());
  }

  /**
   * The heartbeat carries the agent's view; repair what a lost message left behind:
   * a missed `started`, a lost dispatch, a lost ack.
   */
  /** `unfinished`: the node's unfinished commands, read right after its heartbeat was stored. */
  private async reconcile(session: AgentSession, msg: HeartbeatMessage, unfinished: CommandsTable[], now: number): Promise<void> {
    const running = new Set(msg.running);
    const outbox = new Set(msg.outbox);
    const lost: string[] = [];
    for (const c of unfinished) {
      if (c.state !== 'running' && running.has(c.id)) await this.commands.started(session.nodeId, c.id);
      else if (running.has(c.id) || this.dispatcher.inFlight(c.id, now)) continue;
      // In the agent's outbox but not final here: the result was sent on this connection and
      // storing it failed (the store was away), and the agent resends its outbox only after a
      // welcome. Delivering it again makes the agent's journal replay the stored result.
      else if (outbox.has(c.id)) lost.push(c.id);
      else if ((c.dispatched_at ?? c.created_at) < now - IN_FLIGHT_MS) lost.push(c.id);
    }
    await this.dispatcher.redeliver(session.nodeId, lost);
    await this.ackKnownResults(session, msg.outbox);
  }

  private async ackKnownResults(session: AgentSession, outbox: string[]): Promise<void> {
    if (outbox.length === 0) return;
    const rows = await commandStatesOnNode(this.ctx.store.db, session.nodeId, outbox.slice(0, 1000));
    const done = rows.filter((r) => isTerminalCommandState(r.state as CommandState)).map((r) => r.id);
    // Ids the store never heard of (a deleted node's, say) are acknowledged too, or they'd sit forever.
    const known = new Set(rows.map((r) => r.id));
    const unknown = outbox.slice(0, 1000).filter((id) => !known.has(id));
    const ack = [...done, ...unknown];
    if (ack.length) session.send(wire.resultAck(ack));
  }
}

/** Agents are asked for the ids they received after the backup point only this long after a restore (they keep acknowledged ids 7 days). */
const ASK_AFTER_RESTORE_MS = 7 * 86_400_000;

function restoredRecently(restored: { backupAt: number; restoredAt: number } | null | undefined, now: number): { backupAt: number; restoredAt: number } | null {
  return restored && now - restored.restoredAt < ASK_AFTER_RESTORE_MS ? restored : null;
}
