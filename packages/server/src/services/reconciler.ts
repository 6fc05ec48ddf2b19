import {
  DEFAULT_COMMAND_TIMEOUT_MS,
  isTerminalCommandState,
  type CommandState,
  type Labels,
  type ServiceApplyPayload,
  type ServicePut,
} from '@steward/protocol';
import type { CommandService } from '../commands/service.js';
import type { Context } from '../core/context.js';
import { fromJson } from '../store/rows.js';
import { getNodeRow, listNodeRows } from '../store/queries/nodes.js';
import { listServiceNodeRows, listServiceRows } from '../store/queries/services.js';
import type { NodesTable, ServicesTable } from '../store/schema.js';
import { targets } from './targets.js';
import type { SecretBox } from '../security/secret-box.js';

interface Sent {
  at: number;
  commandId: string | null;
  attempt: number;
  state: CommandState | 'refused';
}

/** Retries of one apply after its command expired or was cancelled; then the next report tries again. */
const MAX_ATTEMPTS = 1000;

/**
 * Moves nodes toward the desired state through the command pipeline: a targeted node whose
 * reported revision differs from the desired one gets `service.apply`; a node that reports a
 * service it should not have gets `service.remove`. Runs on every service change and on every
 * report a node sends (hello after being offline included). At most one command per
 * (node, service, revision) is alive at a time: the requestId dedupes across replicas, and a
 * command that expired while the node was away is sent again with the next attempt number.
 */
export class Reconciler {
  private readonly sent = new Map<string, Sent>();

  constructor(
    private readonly ctx: Context,
    private readonly commands: CommandService,
    private readonly box: SecretBox,
  ) {}

  /** After a PUT or DELETE: every node the change concerns. */
  async service(name: string): Promise<void> {
    const nodes = await listNodeRows(this.ctx.store.db);
    const live = (await listServiceRows(this.ctx.store.db)).find((s) => s.name === name);
    const reported = new Map((await listServiceNodeRows(this.ctx.store.db, { service: name })).map((r) => [r.node_id, r.revision]));
    for (const node of nodes) {
      const wanted = live && targets(specOf(live).target, nodeView(node));
      if (wanted) {
        if (!reported.has(node.id) || reported.get(node.id) !== live.revision) await this.apply(node, live);
      } else if (reported.has(node.id)) {
        await this.remove(node, name);
      }
    }
  }

  /** After a node reported its services (`reported`: name → revision it has). */
  async node(nodeId: string, reported: Map<string, number | null>): Promise<void> {
    const node = await getNodeRow(this.ctx.store.db, nodeId);
    if (!node) return;
    const view = nodeView(node);
    const desired = (await listServiceRows(this.ctx.store.db)).filter((s) => targets(specOf(s).target, view));
    const wanted = new Set<string>();
    for (const s of desired) {
      wanted.add(s.name);
      if (reported.get(s.name) !== s.revision) await this.apply(node, s);
    }
    for (const name of reported.keys()) if (!wanted.has(name)) await this.remove(node, name);
  }

  /** Forgets keys not touched for an hour (each revision makes new keys; old ones would pile up). */
  prune(now: number): void {
    for (const [key, e] of this.sent) if (now - e.at > 3_600_000) this.sent.delete(key);
  }

  private apply(node: NodesTable, s: ServicesTable): Promise<void> {
    const { target: _target, env, ...rest } = specOf(s);
    // env values are stored sealed (security/secret-box.ts); only the command to the node carries them clear.
    const open = this.box.mapValues(env, (v) => this.box.unseal(v));
    const payload: ServiceApplyPayload = { revision: s.revision, spec: { name: s.name, ...rest, ...(open ? { env: open } : {}) } };
    return this.ensure(`service.apply:${s.name}:r${s.revision}:${node.id}`, node, 'service.apply', payload);
  }

  private remove(node: NodesTable, name: string): Promise<void> {
    return this.ensure(`service.remove:${name}:${node.id}`, node, 'service.remove', { name });
  }

  /**
   * Sends the command unless one for the same key is still on its way, or one failed (an agent
   * that refused it would refuse it again; its report says why). One that expired, was
   * cancelled, timed out, or succeeded while the node still reports otherwise (its data dir was
   * wiped, say) is sent again under the next attempt number; applies are idempotent by revision.
   */
  private async ensure(key: string, node: NodesTable, type: string, payload: object): Promise<void> {
    const nodeId = node.id;
    const entry = this.sent.get(key) ?? { at: 0, commandId: null, attempt: 0, state: 'pending' };
    entry.at = this.ctx.now();
    this.sent.set(key, entry);
    if (entry.state === 'refused') return;
    if (entry.commandId) {
      if (!isTerminalCommandState(entry.state as CommandState)) entry.state = (await this.commands.get(entry.commandId)).state;
      if (!isTerminalCommandState(entry.state as CommandState) || entry.state === 'failed') return;
      entry.attempt++;
    }
    for (; entry.attempt < MAX_ATTEMPTS; entry.attempt++) {
      try {
        const { command } = await this.commands.submit({
          node: nodeId,
          type,
          payload: payload as Record<string, unknown>,
          requestId: `${key}:${entry.attempt}`,
          ...timeoutFor(node),
        });
        entry.commandId = command.id;
        entry.state = command.state;
        // A requestId used before (by another replica, or before a restart) may name a finished command.
        if (!isTerminalCommandState(command.state) || command.state === 'failed') return;
      } catch (err) {
        // The node cannot take it (no service module, say): don't ask again every heartbeat.
        this.ctx.log.warn({ err, nodeId, type }, 'service reconcile command refused');
        entry.state = 'refused';
        return;
      }
    }
  }

}

export function specOf(row: ServicesTable): ServicePut {
  return JSON.parse(row.spec) as ServicePut;
}

/**
 * A node that reports rarely (a BootAgent pulls jobs every 10 minutes and answers at its next
 * report) gets three of its intervals; everyone else the default.
 */
function timeoutFor(node: NodesTable): { timeoutMs?: number } {
  const ms = 3 * node.heartbeat_interval_ms;
  return ms > DEFAULT_COMMAND_TIMEOUT_MS ? { timeoutMs: ms } : {};
}

function nodeView(node: NodesTable): { id: string; name: string; labels: Labels } {
  return { id: node.id, name: node.name, labels: fromJson<Labels>(node.labels) ?? {} };
}
