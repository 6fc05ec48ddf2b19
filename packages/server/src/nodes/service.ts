import {
  ConflictError,
  matchesSelector,
  NotFoundError,
  parseSelector,
  ValidationError,
  LABEL_KEY_PATTERN,
  LABEL_VALUE_PATTERN,
  type Labels,
  type Node,
  type NodeListQuery,
  type NodePatch,
  type NodeCredentialRotation,
} from '@steward/protocol';
import type { AgentLink } from '../agents/link.js';
import type { CommandService } from '../commands/service.js';
import type { Context } from '../core/context.js';
import { fromJson } from '../store/rows.js';
import { nodeFromRow } from './rows.js';
import { cancelUnfinishedForNode, countUnfinishedForNode } from '../store/queries/commands.js';
import { deleteNodeRow, findNodeRow, listNodeRows, nodeNameTaken, revokeNodeRow, updateNodeRow } from '../store/queries/nodes.js';
import type { CommandsTable, NodesTable } from '../store/schema.js';
import { publishNodeChanged } from '../events/node-status.js';

const KEY = new RegExp(LABEL_KEY_PATTERN);
const VALUE = new RegExp(LABEL_VALUE_PATTERN);

export class NodeService {
  constructor(
    private readonly ctx: Context,
    private readonly commands: CommandService,
    private readonly link: Pick<AgentLink, 'configure' | 'disconnect' | 'rotateCredential' | 'connected'>,
  ) {}

  async list(q: NodeListQuery): Promise<Node[]> {
    const selector = q.selector ? parseSelector(q.selector) : null;
    const rows = await listNodeRows(this.ctx.store.db, { status: q.status, limit: selector ? undefined : q.limit });
    const nodes = rows.map(nodeFromRow);
    const picked = selector ? nodes.filter((n) => matchesSelector(n.labels, selector)) : nodes;
    return q.limit ? picked.slice(0, q.limit) : picked;
  }

  async row(idOrName: string): Promise<NodesTable> {
    const row = await findNodeRow(this.ctx.store.db, idOrName);
    if (!row) throw new NotFoundError('node', idOrName);
    return row;
  }

  async get(idOrName: string): Promise<Node> {
    return nodeFromRow(await this.row(idOrName));
  }

  async patch(idOrName: string, patch: NodePatch): Promise<Node> {
    const current = await this.row(idOrName);
    const set: Partial<NodesTable> = {};
    if (patch.name !== undefined && patch.name !== current.name) {
      if (await nodeNameTaken(this.ctx.store.db, patch.name, current.id)) {
        throw new ConflictError('name_taken', `another node is already named ${JSON.stringify(patch.name)}`);
      }
      set.name = patch.name;
    }
    if (patch.labels !== undefined) {
      const labels: Labels = { ...(fromJson<Labels>(current.labels) ?? {}) };
      const issues = [];
      for (const [k, v] of Object.entries(patch.labels)) {
        if (!KEY.test(k)) issues.push({ field: `labels.${k}`, rule: `key must match ${LABEL_KEY_PATTERN}` });
        else if (v === null) delete labels[k];
        else if (!VALUE.test(v)) issues.push({ field: `labels.${k}`, rule: `value must match ${LABEL_VALUE_PATTERN}` });
        else labels[k] = v;
      }
      if (issues.length) throw new ValidationError(`invalid labels: ${issues.map((i) => `${i.field}: ${i.rule}`).join('; ')}`, issues);
      set.labels = JSON.stringify(labels);
    }
    if (patch.heartbeatIntervalMs !== undefined) set.heartbeat_interval_ms = patch.heartbeatIntervalMs;
    if (Object.keys(set).length === 0) return nodeFromRow(current);
    const row = await updateNodeRow(this.ctx.store.db, current.id, set);
    if (!row) throw new NotFoundError('node', idOrName);
    if (patch.heartbeatIntervalMs !== undefined) {
      this.link.configure(row.id, { heartbeatIntervalMs: patch.heartbeatIntervalMs });
    }
    publishNodeChanged(this.ctx, row, 'updated');
    return nodeFromRow(row);
  }

  /**
   * Sends the node a new credential over its link. The old one keeps working until the agent
   * confirms it stored the new one, so a node that misses the message is not locked out.
   */
  async rotateCredential(idOrName: string): Promise<NodeCredentialRotation> {
    const node = await this.usable(idOrName);
    if (node.status !== 'online') {
      throw new ConflictError('node_offline', `node ${node.name} is ${node.status}: a credential is rotated over its connection, so it must be online`);
    }
    const { credentialId } = await this.link.rotateCredential(node.id);
    return { nodeId: node.id, credentialId };
  }

  /**
   * Revokes the node: its credential is refused from now on (reconnects get 403 `node_revoked`),
   * its connection is closed and its unfinished commands end `cancelled`. To bring the machine
   * back, enroll it again with a new token.
   */
  async revoke(idOrName: string): Promise<Node> {
    const current = await this.usable(idOrName);
    const now = this.ctx.now();
    const cancelled: CommandsTable[] = [];
    const row = await this.ctx.store.tx(async (db) => {
      const revoked = await revokeNodeRow(db, current.id, now);
      if (revoked) cancelled.push(...(await cancelUnfinishedForNode(db, current.id, now, 'node_revoked', 'the node was revoked')));
      return revoked;
    });
    if (!row) throw new ConflictError('node_revoked', `node ${current.name} is already revoked`);
    for (const c of cancelled) this.commands.ended(c);
    this.link.disconnect(current.id, 4004, 'node revoked');
    publishNodeChanged(this.ctx, row, 'revoked');
    return nodeFromRow(row);
  }

  /** A Steward agent's node that is not revoked (foreign protocols have no credential to rotate or revoke). */
  private async usable(idOrName: string): Promise<NodesTable> {
    const node = await this.row(idOrName);
    if (node.protocol !== 'steward') throw new ConflictError('unsupported_protocol', `node ${node.name} speaks ${node.protocol}, which has no Steward credential`);
    if (node.revoked_at != null) throw new ConflictError('node_revoked', `node ${node.name} is revoked`);
    return node;
  }

  /** Refuses while commands are unfinished unless forced; forced, those end `cancelled`. */
  async remove(idOrName: string, force: boolean): Promise<void> {
    const current = await this.row(idOrName);
    const now = this.ctx.now();
    const cancelled: CommandsTable[] = [];
    await this.ctx.store.tx(async (db) => {
      const pending = await countUnfinishedForNode(db, current.id);
      if (pending > 0 && !force) {
        throw new ConflictError(
          'node_has_pending_work',
          `node ${current.name} has ${pending} unfinished command(s); wait, cancel them, or delete with force`,
          { unfinished: pending },
        );
      }
      cancelled.push(...(await cancelUnfinishedForNode(db, current.id, now, 'node_deleted', 'the node was deleted')));
      await deleteNodeRow(db, current.id);
    });
    for (const row of cancelled) this.commands.ended(row);
    this.link.disconnect(current.id, 4003, 'node deleted');
    this.commands.catalogs.forget(current.id);
    publishNodeChanged(this.ctx, current, 'deleted');
  }
}
