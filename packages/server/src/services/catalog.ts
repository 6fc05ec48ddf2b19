import {
  CommandFailedError,
  NotFoundError,
  redactWriteOnly,
  ServiceRunSpec,
  type Command,
  type Service,
  type ServiceNodeReport,
  type ServiceNodeStatus,
  type ServicePut,
  type Labels,
} from '@steward/protocol';
import { canonicalJson } from '../core/canonical-json.js';
import type { CommandService } from '../commands/service.js';
import type { Context } from '../core/context.js';
import { fromJson } from '../store/rows.js';
import { listNodeRows } from '../store/queries/nodes.js';
import { getServiceRow, listServiceNodeRows, listServiceRows, markServiceDeleted, putServiceSpec } from '../store/queries/services.js';
import type { NodesTable, ServiceNodesTable, ServicesTable } from '../store/schema.js';
import type { Reconciler } from './reconciler.js';
import { specOf } from './reconciler.js';
import type { SecretBox } from '../security/secret-box.js';
import { checkServiceSpec, checkStartOrder } from './spec-check.js';
import { targets } from './targets.js';

/** How long an imperative call (start, stop, logs…) waits for the node's answer. */
const ACTION_WAIT_MS = 60_000;

/** Desired state of services and what the nodes report, as the API shows them. */
export class ServiceCatalog {
  constructor(
    private readonly ctx: Context,
    private readonly commands: CommandService,
    private readonly reconciler: Reconciler,
    private readonly box: SecretBox,
  ) {}

  async put(name: string, spec: ServicePut): Promise<{ service: Service; created: boolean; changed: boolean }> {
    checkServiceSpec(spec);
    if (spec.after?.length) checkStartOrder(name, spec, (await listServiceRows(this.ctx.store.db)).map((r) => ({ name: r.name, after: specOf(r).after })));
    const before = await getServiceRow(this.ctx.store.db, name);
    const now = this.ctx.now();
    // env values are kept sealed at rest: the store holds `sbx1:…`, the key stays in the data dir.
    const sealed = this.box.mapValues(spec.env, (v) => this.box.seal(v));
    const stored: ServicePut = sealed ? { ...spec, env: sealed } : spec;
    const { row, changed } = await this.ctx.store.tx((db) => putServiceSpec(db, name, canonicalJson(stored), now));
    if (changed) {
      this.ctx.bus.publish({ kind: 'service.state', at: now, service: name, nodeId: null, state: null, version: spec.version, revision: row.revision, reason: 'desired state changed' });
      await this.reconciler.service(name);
    }
    return { service: await this.get(name), created: !before || before.deleted_at !== null, changed };
  }

  async get(name: string): Promise<Service> {
    const row = await getServiceRow(this.ctx.store.db, name);
    if (!row || row.deleted_at !== null) throw new NotFoundError('service', name);
    const nodes = await listNodeRows(this.ctx.store.db);
    return this.view(row, nodes, await listServiceNodeRows(this.ctx.store.db, { service: name }));
  }

  async list(): Promise<Service[]> {
    const rows = await listServiceRows(this.ctx.store.db);
    const nodes = await listNodeRows(this.ctx.store.db);
    const statuses = await listServiceNodeRows(this.ctx.store.db);
    return rows.map((r) => this.view(r, nodes, statuses.filter((s) => s.service === r.name)));
  }

  /** Marks the service deleted and sends `service.remove` to every node that reports it. */
  async remove(name: string): Promise<void> {
    const row = await markServiceDeleted(this.ctx.store.db, name, this.ctx.now());
    if (!row) throw new NotFoundError('service', name);
    this.ctx.bus.publish({ kind: 'service.state', at: this.ctx.now(), service: name, nodeId: null, state: null, version: null, revision: row.revision, reason: 'deleted' });
    await this.reconciler.service(name);
  }

  /** Runs `service.<verb>` on one node and returns what the node answered. */
  async action(name: string, node: string, type: string, payload: Record<string, unknown> = {}): Promise<unknown> {
    const { command } = await this.commands.submit({ node, type, payload: { name, ...payload }, timeoutMs: ACTION_WAIT_MS, ttlMs: ACTION_WAIT_MS });
    const done: Command = await this.commands.waitForEnd(command.id, ACTION_WAIT_MS);
    if (done.state === 'succeeded') return done.result;
    if (done.error?.code === 'unknown_service') throw new NotFoundError('service on node', `${name}@${node}`);
    throw new CommandFailedError(
      done.error?.code ?? `command_${done.state}`,
      done.error?.message ?? `${type} on ${node} ended ${done.state}`,
      { commandId: done.id, state: done.state },
    );
  }

  private view(row: ServicesTable, nodes: NodesTable[], statuses: ServiceNodesTable[]): Service {
    const spec = specOf(row);
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const now = this.ctx.now();
    const targeted = nodes.filter((n) => targets(spec.target, { id: n.id, name: n.name, labels: fromJson<Labels>(n.labels) ?? {} })).length;
    const perNode: ServiceNodeStatus[] = [];
    for (const s of statuses) {
      const node = byId.get(s.node_id);
      if (!node) continue;
      const r = JSON.parse(s.report) as ServiceNodeReport;
      perNode.push({
        nodeId: s.node_id,
        nodeName: node.name,
        revision: r.revision,
        version: r.version,
        state: r.state,
        pid: r.pid,
        startedAt: r.startedAt,
        uptimeMs: r.startedAt !== null && r.pid !== null ? Math.max(0, now - r.startedAt) : null,
        restarts: r.restarts,
        reason: r.reason,
        lastOutcome: r.lastOutcome,
        limits: r.limits,
        exits: r.exits,
        updatedAt: s.updated_at,
      });
    }
    // env values are secret: shown redacted to every role (the agent gets them in service.apply).
    const shown = redactWriteOnly(ServiceRunSpec, spec).value as ServicePut;
    return { name: row.name, revision: row.revision, spec: shown, createdAt: row.created_at, updatedAt: row.updated_at, targeted, nodes: perNode };
  }
}
