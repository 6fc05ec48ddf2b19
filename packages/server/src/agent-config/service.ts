import {
  canonicalJson,
  checkModuleList,
  effectiveConfig,
  type LayerDocument,
  NotFoundError,
  parseSelector,
  PayloadTooLargeError,
  ValidationError,
  type AppliedConfig,
  type ConfigDocument,
  type ConfigDocumentPut,
  type ConfigStatusMessage,
  type ConfigStatusState,
  type FieldIssue,
  type Labels,
  type NodeConfigView,
} from '@steward/protocol';
import { configRevision } from '@steward/protocol/node';
import type { AgentLink } from '../agents/link.js';
import type { DesiredConfig } from '../agents/config-source.js';
import type { Context } from '../core/context.js';
import { fromJson } from '../store/rows.js';
import type { NodeConfigStatusTable, NodesTable } from '../store/schema.js';
import {
  deleteConfigDocument,
  deleteNodeConfigStatus,
  getConfigDocument,
  getNodeConfigStatus,
  listConfigDocuments,
  listNodeConfigStatus,
  listSentRevisions,
  recordConfigReport,
  recordConfigSent,
  upsertConfigDocument,
} from '../store/queries/agent-config.js';
import { findNodeRow, getNodeRow, listOnlineNodeRefs, type NodeConfigRef } from '../store/queries/nodes.js';
import { documentFromRow, layerOf } from './documents.js';

/** A document's config as stored (canonical JSON) may not be larger than this. */
export const MAX_CONFIG_DOCUMENT_BYTES = 256 * 1024;

type NodeRef = Pick<NodesTable, 'id' | 'name' | 'labels'>;

/**
 * Desired agent configuration: layered documents merged per node (merge.ts), pushed to the
 * agents this replica holds whenever a node's result changes, and the agents' answers.
 */
/** How long the config documents read for welcomes are reused. */
const LAYERS_TTL_MS = 1000;

export class AgentConfigService {
  private cachedLayers: { at: number; layers: Promise<LayerDocument[]> } | null = null;

  constructor(
    private readonly ctx: Context,
    private readonly link: Pick<AgentLink, 'pushConfig' | 'connected'>,
  ) {}

  async list(): Promise<ConfigDocument[]> {
    return (await listConfigDocuments(this.ctx.store.db)).map(documentFromRow);
  }

  async get(name: string): Promise<ConfigDocument> {
    const row = await getConfigDocument(this.ctx.store.db, name);
    if (!row) throw new NotFoundError('config document', name);
    return documentFromRow(row);
  }

  /** Creates or replaces a document; every replica then re-pushes to the nodes it holds. */
  async put(name: string, body: ConfigDocumentPut, by: string): Promise<ConfigDocument> {
    this.check(body);
    const config = canonicalJson(body.config);
    if (Buffer.byteLength(config) > MAX_CONFIG_DOCUMENT_BYTES) {
      throw new PayloadTooLargeError(`config: ${Buffer.byteLength(config)} bytes is over the ${MAX_CONFIG_DOCUMENT_BYTES} bytes a document may hold`);
    }
    const row = await upsertConfigDocument(this.ctx.store.db, {
      name,
      target: canonicalJson(body.target),
      priority: body.priority,
      config,
      updated_at: this.ctx.now(),
      updated_by: by,
    });
    this.ctx.bus.publish({ kind: 'agent-config.changed', at: this.ctx.now(), name, change: 'updated', version: row.version });
    return documentFromRow(row);
  }

  async remove(name: string): Promise<void> {
    if (!(await deleteConfigDocument(this.ctx.store.db, name))) throw new NotFoundError('config document', name);
    this.ctx.bus.publish({ kind: 'agent-config.changed', at: this.ctx.now(), name, change: 'deleted', version: null });
  }

  /** What the node gets, where each key comes from, and what its agent last said. */
  async nodeView(idOrName: string): Promise<NodeConfigView> {
    const db = this.ctx.store.db;
    const node = await findNodeRow(db, idOrName);
    if (!node) throw new NotFoundError('node', idOrName);
    const effective = effectiveConfig(await this.layers(), nodeRef(node));
    const revision = configRevision(effective.config);
    const applied = appliedOf(await getNodeConfigStatus(db, node.id));
    return { nodeId: node.id, revision, ...effective, applied, inSync: applied?.state === 'applied' && applied.revision === revision };
  }

  /** The node's desired config, recorded as sent (the link sends it right after welcome). */
  async desired(node: NodesTable): Promise<DesiredConfig> {
    const { config } = effectiveConfig(await this.layers(), nodeRef(node));
    return { revision: configRevision(config), config };
  }

  /** After every welcome: shares a transaction with the other hellos of the moment. */
  async sent(nodeId: string, revision: string): Promise<void> {
    await this.ctx.store.batch((db) => recordConfigSent(db, nodeId, revision, this.ctx.now()));
  }

  /** Forgets the cached documents (one changed, here or on another replica). */
  invalidate(): void {
    this.cachedLayers = null;
  }

  /** True when the node's effective config lists a plugin with this artifact (the node may then download it). */
  async namesPlugin(nodeId: string, sha256: string): Promise<boolean> {
    const node = await getNodeRow(this.ctx.store.db, nodeId);
    if (!node) return false;
    return effectiveConfig(await this.layers(), nodeRef(node)).config.plugins?.some((p) => p.sha256 === sha256) ?? false;
  }

  /** Stores an agent's answer and tells the dashboard (a late answer from an older message is dropped). */
  async status(nodeId: string, msg: ConfigStatusMessage): Promise<void> {
    const stored = await recordConfigReport(this.ctx.store.db, nodeId, {
      revision: msg.revision,
      state: msg.state,
      reason: msg.reason ?? null,
      issues: msg.issues?.length ? JSON.stringify(msg.issues) : null,
      at: msg.at,
    });
    if (!stored) return;
    if (msg.state === 'rejected') this.ctx.log.warn({ nodeId, revision: msg.revision, reason: msg.reason }, 'agent rejected its pushed config');
    this.ctx.bus.publish({ kind: 'node.config', at: this.ctx.now(), nodeId, revision: msg.revision, state: msg.state, ...(msg.reason ? { reason: msg.reason } : {}) });
  }

  /**
   * Pushes to each node this replica holds whose effective revision differs from the one last
   * sent to it (all such nodes, or only `nodeId`). Runs on every document change (relayed from
   * other replicas too), on node relabels, and on the sweep as the repair path.
   */
  async resync(nodeId?: string): Promise<number> {
    const db = this.ctx.store.db;
    // Only the columns a push needs: with 10,000 nodes, whole rows (inventory, stats) held the
    // event loop for hundreds of milliseconds every repair pass.
    const nodes = (nodeId ? [await findNodeRow(db, nodeId)] : await listOnlineNodeRefs(db)).filter(
      (n): n is NodeConfigRef => !!n && n.revoked_at == null && (n.protocol ?? 'steward') === 'steward' && this.link.connected(n.id),
    );
    if (nodes.length === 0) return 0;
    // Read afresh: this is also the repair for a change whose event was lost.
    const layers = await this.layers(true);
    const sent = new Map((await listSentRevisions(db, nodes.map((n) => n.id))).map((s) => [s.node_id, s.desired_revision]));
    let pushed = 0;
    for (const n of nodes) {
      const { config } = effectiveConfig(layers, nodeRef(n));
      const revision = configRevision(config);
      if (sent.get(n.id) === revision) continue;
      await recordConfigSent(db, n.id, revision, this.ctx.now());
      this.link.pushConfig(n.id, revision, config);
      pushed++;
    }
    return pushed;
  }

  /** A deleted node's status row goes with it. */
  async forget(nodeId: string): Promise<void> {
    await deleteNodeConfigStatus(this.ctx.store.db, nodeId);
  }

  /**
   * The documents, read at most every LAYERS_TTL_MS (and again after a change): every welcome
   * needs them, and a reconnect storm has thousands a second. A welcome that raced a change is
   * set right by the push that follows the change, or by the repair pass.
   */
  private layers(fresh = false): Promise<LayerDocument[]> {
    const now = this.ctx.now();
    if (!fresh && this.cachedLayers && now - this.cachedLayers.at < LAYERS_TTL_MS) return this.cachedLayers.layers;
    const layers = listConfigDocuments(this.ctx.store.db).then((rows) => rows.map((r) => layerOf(documentFromRow(r))));
    const entry = { at: now, layers };
    this.cachedLayers = entry;
    layers.catch(() => {
      if (this.cachedLayers === entry) this.cachedLayers = null;
    });
    return layers;
  }

  /** What the schema cannot say: a selector that parses, a module list that is one kind, an interval liveness can live with. */
  private check(body: ConfigDocumentPut): void {
    if ('selector' in body.target) parseSelector(body.target.selector, 'target.selector');
    checkModuleList(body.config.modules);
    const interval = body.config.heartbeatIntervalMs;
    const most = Math.floor(this.ctx.settings.offlineAfterMs / 3);
    if (interval !== undefined && interval > most) {
      const issues: FieldIssue[] = [{ field: 'config.heartbeatIntervalMs', rule: `at most ${most} (a third of the control plane's offline threshold)` }];
      throw new ValidationError(
        `config.heartbeatIntervalMs: ${interval} ms would get the node marked offline (the control plane's offline threshold is ${this.ctx.settings.offlineAfterMs} ms; at most a third of it, ${most} ms)`,
        issues,
      );
    }
  }
}

function nodeRef(n: NodeRef): { id: string; name: string; labels: Labels } {
  return { id: n.id, name: n.name, labels: fromJson<Labels>(n.labels) ?? {} };
}

function appliedOf(s: NodeConfigStatusTable | undefined): AppliedConfig | null {
  if (!s) return null;
  if (s.reported_revision && s.state && s.reported_at !== null) {
    const issues = fromJson<FieldIssue[]>(s.issues);
    return {
      revision: s.reported_revision,
      state: s.state as ConfigStatusState,
      ...(s.reason ? { reason: s.reason } : {}),
      ...(issues ? { issues } : {}),
      at: s.reported_at,
    };
  }
  // Sent, not answered yet.
  return s.desired_revision && s.sent_at !== null ? { revision: s.desired_revision, state: 'pending', at: s.sent_at } : null;
}
