import {
  compile,
  issuesOf,
  RETIRE_CLUSTER_MESSAGE_TYPES,
  RetireClusterEnvelope,
  RetireClusterHeartbeatData,
  RetireClusterRegisterData,
  RetireClusterTaskResultData,
  Inventory,
  type Stats,
  type TaskRunPayload,
} from '@steward/protocol';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { AdmissionService } from '../../admissions/service.js';
import type { TransportHost } from '../../agents/transport.js';
import { ProxiedAgent } from '../../agents/transports/proxied-agent.js';
import { ackReply, encodeReply, errorReply, taskAssignReply, type RetireClusterReply } from '../../agents/transports/retire-cluster/replies.js';
import type { Context } from '../../core/context.js';
import { findNodeByExternalId, listNodesOfProtocol } from '../../store/queries/nodes.js';
import { EMPTY_INVENTORY, fromJson } from '../../store/rows.js';
import { inventoryOf, profileFromInventory, profileFromRegister, statsFrom, taskReport, type DeviceProfile } from './profile.js';
import { outcomeOf, taskAssignment } from './tasks.js';

type TypeCheckAny = Parameters<typeof issuesOf>[0];

const PROTOCOL = 'retire-cluster';
/** Devices named in a `status` reply at most (it must fit the worker's 8 KiB read). */
const STATUS_LIST_MAX = 100;

/** A device that is a node and is being heard from: its stand-in on the agent link. */
interface Device {
  nodeId: string;
  proxy: ProxiedAgent;
  profile: DeviceProfile;
  connectedAt: number;
  lastStats: Stats | null;
}

type Envelope = RetireClusterEnvelope;

const envelopeCheck = TypeCompiler.Compile(RetireClusterEnvelope);
const checks = {
  register: TypeCompiler.Compile(RetireClusterRegisterData),
  heartbeat: TypeCompiler.Compile(RetireClusterHeartbeatData),
  task_result: TypeCompiler.Compile(RetireClusterTaskResultData),
};
/** A stored inventory is reused for a device heard from after a restart; checked all the same. */
const isInventory = compile(Inventory);

/**
 * Retire-Cluster devices on Steward: each `register` goes through admission; an admitted device
 * is a node with a ProxiedAgent on the link while it is heard from; heartbeats become its stats
 * and task-module report (so the scheduler places tasks on it); `task_request` takes the next
 * `task.run` queued for it; `task_result` finishes that command, which ends the attempt.
 */
export class RetireClusterGateway {
  private readonly devices = new Map<string, Device>();
  /** A device's first message after a silence, while its stand-in says hello (concurrent connections share it). */
  private readonly opening = new Map<string, Promise<Device | null>>();

  constructor(
    private readonly ctx: Context,
    private readonly admissions: AdmissionService,
    private readonly host: TransportHost,
  ) {}

  async handle(message: unknown, peer: { address: string }): Promise<RetireClusterReply> {
    if (!envelopeCheck.Check(message)) {
      const issues = issuesOf(envelopeCheck, message);
      const to = message as { sender_id?: unknown; message_id?: unknown } | null;
      return errorReply(
        { sender_id: typeof to?.sender_id === 'string' ? to.sender_id.slice(0, 200) : null, message_id: typeof to?.message_id === 'string' ? to.message_id.slice(0, 200) : null },
        `invalid message: ${issues.map((i) => `${i.field}: ${i.rule}`).join('; ')}`,
      );
    }
    const msg = message as Envelope;
    const data = msg.data ?? {};
    switch (msg.message_type) {
      case 'register':
        return this.register(msg, data, peer.address);
      case 'heartbeat':
        return this.heartbeat(msg, data);
      case 'status':
        return this.status(msg);
      case 'task_request':
        return this.taskRequest(msg);
      case 'task_result':
        return this.taskResult(msg, data);
      default:
        return errorReply(msg, `message_type ${msg.message_type.slice(0, 64)} is not supported here (${RETIRE_CLUSTER_MESSAGE_TYPES.join(', ')})`);
    }
  }

  /** Ends every stand-in (the control plane stops). */
  close(): void {
    for (const d of this.devices.values()) d.proxy.end();
    this.devices.clear();
  }

  private invalid(msg: Envelope, check: TypeCheckAny, data: unknown): RetireClusterReply {
    const issues = issuesOf(check, data, 'data');
    return errorReply(msg, `invalid ${msg.message_type} message: ${issues.map((i) => `${i.field}: ${i.rule}`).join('; ')}`);
  }

  private async register(msg: Envelope, data: unknown, source: string): Promise<RetireClusterReply> {
    if (!checks.register.Check(data)) return this.invalid(msg, checks.register, data);
    const id = msg.sender_id;
    const profile = profileFromRegister(data, id, source);
    const answer = await this.admissions.admit({
      protocol: PROTOCOL,
      externalId: id,
      hostname: profile.hostname,
      source,
      profile,
      heartbeatIntervalMs: profile.heartbeatIntervalMs,
    });
    if (answer.state === 'pending') return errorReply(msg, `device ${id} waits for an operator to admit it: steward nodes approve ${id}`);
    if (answer.state !== 'approved') return errorReply(msg, `device ${id} was rejected by an operator`);
    const device = await this.connect(id, answer.node.id, profile, true);
    return ackReply(msg, { success: true, device_id: id, node_id: device.nodeId, message: 'Device registered successfully' });
  }

  private async heartbeat(msg: Envelope, data: unknown): Promise<RetireClusterReply> {
    if (!checks.heartbeat.Check(data)) return this.invalid(msg, checks.heartbeat, data);
    const device = await this.device(msg.sender_id);
    if (!device) return this.notANode(msg);
    const now = this.ctx.now();
    const stats = statsFrom(data.metrics ?? data.system_metrics ?? {}, device.profile, (now - device.connectedAt) / 1000, now);
    device.lastStats = stats;
    device.proxy.heartbeat(stats, { task: this.report(device) });
    return ackReply(msg, { success: true, message: 'Heartbeat recorded' });
  }

  private async status(msg: Envelope): Promise<RetireClusterReply> {
    const rows = await listNodesOfProtocol(this.ctx.store.db, PROTOCOL, 10_000);
    const online = rows.filter((r) => r.status === 'online');
    const byRole: Record<string, number> = {};
    for (const r of online) {
      const role = (fromJson<Inventory>(r.inventory) ?? EMPTY_INVENTORY).capabilities.find((c) => c.startsWith('role:'))?.slice(5) ?? 'worker';
      byRole[role] = (byRole[role] ?? 0) + 1;
    }
    // Only a device that is a node learns the others' ids; anyone may see the counts (the worker's connection test).
    const member = rows.some((r) => r.external_id === msg.sender_id);
    let list = member ? online.map((r) => r.external_id ?? r.name).slice(0, STATUS_LIST_MAX) : [];
    const make = () =>
      ackReply(msg, {
        success: true,
        cluster_stats: {
          total_devices: rows.length,
          online_devices: online.length,
          health_percentage: rows.length ? Math.round((online.length / rows.length) * 1000) / 10 : 0,
          by_role: byRole,
        },
        online_devices: online.length,
        device_list: list,
        timestamp: new Date(this.ctx.now()).toISOString(),
      });
    let reply = make();
    while (!encodeReply(reply) && list.length > 0) {
      list = list.slice(0, Math.floor(list.length / 2));
      reply = make();
    }
    return reply;
  }

  private async taskRequest(msg: Envelope): Promise<RetireClusterReply> {
    const device = await this.device(msg.sender_id);
    if (!device) return this.notANode(msg);
    device.proxy.touch();
    for (;;) {
      const c = device.proxy.next((q) => q.type === 'task.run');
      if (!c) return ackReply(msg, { success: true, message: 'no task for this device now', task: null });
      const a = taskAssignment(c);
      if ('refused' in a) {
        device.proxy.finish(c.id, { state: 'failed', error: a.refused });
        continue;
      }
      const reply = taskAssignReply(msg, a.task);
      if (encodeReply(reply)) return reply;
      device.proxy.finish(c.id, { state: 'failed', error: { code: 'payload_too_large', message: 'the task does not fit in a Retire-Cluster reply (8 KiB)' } });
    }
  }

  private async taskResult(msg: Envelope, data: unknown): Promise<RetireClusterReply> {
    if (!checks.task_result.Check(data)) return this.invalid(msg, checks.task_result, data);
    const device = await this.device(msg.sender_id);
    if (!device) return this.notANode(msg);
    const { outcome, output } = outcomeOf(data);
    const running = device.proxy.runningCommands().find((c) => c.id === data.task_id);
    if (running && output) {
      const p = running.payload as TaskRunPayload;
      // Stored as the attempt's output, so `steward tasks output` shows what the device returned.
      device.proxy.event('task', 'output', { taskId: p.taskId, attemptId: p.attemptId, seq: 0, stream: 'stdout', data: output, at: this.ctx.now() });
    }
    // A result for a command this device never held here (an earlier connection's, a repeat) is passed on too:
    // the command pipeline stores a result once and only from the node the command belongs to.
    device.proxy.finish(data.task_id, outcome);
    return ackReply(msg, { success: true, message: 'Task result recorded', task_id: data.task_id });
  }

  private notANode(msg: Envelope): RetireClusterReply {
    return errorReply(msg, `device ${msg.sender_id} is not a node here: send register, then wait for steward nodes approve ${msg.sender_id}`);
  }

  private report(d: Device) {
    const running = d.proxy.runningCommands().map((c) => {
      const p = c.payload as Partial<TaskRunPayload>;
      return { commandId: c.id, attemptId: String(p.attemptId ?? ''), taskId: String(p.taskId ?? '') };
    });
    return taskReport(d.profile, running.filter((r) => r.attemptId && r.taskId), d.lastStats);
  }

  /** The device's live stand-in, or a new one for a node that was silent (or a restarted control plane); null when not a node. */
  private async device(externalId: string): Promise<Device | null> {
    const live = this.devices.get(externalId);
    if (live?.proxy.isOpen) return live;
    let opening = this.opening.get(externalId);
    if (!opening) {
      opening = (async () => {
        const node = await findNodeByExternalId(this.ctx.store.db, PROTOCOL, externalId);
        if (!node) return null;
        const inv = fromJson<Inventory>(node.inventory);
        const profile = profileFromInventory(inv && isInventory.check(inv) ? inv : EMPTY_INVENTORY, node.heartbeat_interval_ms);
        return this.connect(externalId, node.id, profile, false);
      })().finally(() => this.opening.delete(externalId));
      this.opening.set(externalId, opening);
    }
    return opening;
  }

  /**
   * Says hello for the device: on its live stand-in when it registers again (its profile may have
   * changed), else on a new one. Offline after three missed heartbeats: the stand-in closes after
   * 3 × the device's interval and a margin without a message.
   */
  private async connect(externalId: string, nodeId: string, profile: DeviceProfile, registering: boolean): Promise<Device> {
    let device = this.devices.get(externalId);
    if (!device || !device.proxy.isOpen || device.nodeId !== nodeId) {
      device?.proxy.end();
      const interval = profile.heartbeatIntervalMs;
      const proxy: ProxiedAgent = new ProxiedAgent({
        silenceMs: 3 * interval + Math.min(interval, 10_000),
        onError: (code, message) => this.ctx.log.warn({ externalId, nodeId, code, message }, 'the agent link refused a message made for a Retire-Cluster device'),
        onClose: () => {
          if (this.devices.get(externalId)?.proxy === proxy) this.devices.delete(externalId);
        },
      });
      device = { nodeId, proxy, profile, connectedAt: this.ctx.now(), lastStats: null };
      this.devices.set(externalId, device);
      this.host.attach(nodeId, proxy);
    } else if (registering) {
      device.profile = profile;
    } else {
      return device;
    }
    await device.proxy.hello(inventoryOf(device.profile), { task: this.report(device) });
    return device;
  }
}
