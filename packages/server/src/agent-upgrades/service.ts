import {
  DEFAULT_UPGRADE_GRACE_MS,
  InvalidStateError,
  isTerminalCommandState,
  matchesSelector,
  newId,
  NotFoundError,
  parseSelector,
  ValidationError,
  type AgentUpgrade,
  type AgentUpgradeCreate,
  type AgentUpgradeDetail,
  type AgentUpgradeNodeState,
  type AgentUpgradeState,
  type CommandState,
  type Inventory,
  type JobTarget,
  type Labels,
} from '@steward/protocol';
import type { AuditRecord } from '../http/audit-hook.js';
import type { CommandService } from '../commands/service.js';
import type { Requester } from '../commands/approval-policies.js';
import type { Context } from '../core/context.js';
import { fromJson } from '../store/rows.js';
import type { AgentUpgradeNodesTable, AgentUpgradesTable, NodesTable } from '../store/schema.js';
import { listNodeRows } from '../store/queries/nodes.js';
import { getCommandRow } from '../store/queries/commands.js';
import {
  agentUpgradeCounts,
  agentUpgradeNodeRows,
  artifactByName,
  finishAgentUpgradeNode,
  getAgentUpgradeRow,
  insertAgentUpgrade,
  listAgentUpgradeRows,
  runningAgentUpgradeIds,
  skipPendingAgentUpgradeNodes,
  startAgentUpgradeNode,
  transitionAgentUpgrade,
} from '../store/queries/agent-upgrades.js';

/** The package file a node of `arch` installs (scripts/package.mjs names them so). */
export const packageFileName = (version: string, arch: string) => `steward-agent-${version}-linux-${arch}.tar.gz`;

/** Beyond the grace, how long an upgrade command may run (download and verification of ~100 MB). */
const UPGRADE_RUN_MS = 600_000;
/** How long an upgrade waits for an offline node before its command expires (the node then counts as failed). */
const UPGRADE_TTL_MS = 3_600_000;

const FINAL_NODE: ReadonlySet<string> = new Set<AgentUpgradeNodeState>(['upgraded', 'rolled_back', 'failed', 'skipped']);
const FAILED_NODE: ReadonlySet<string> = new Set<AgentUpgradeNodeState>(['rolled_back', 'failed']);

function toApi(r: AgentUpgradesTable, counts: Record<string, number>): AgentUpgrade {
  return {
    id: r.id,
    version: r.version,
    target: fromJson<JobTarget>(r.target),
    batchSize: r.batch_size,
    maxUnavailable: r.max_unavailable,
    canary: r.canary,
    failureThreshold: r.failure_threshold,
    graceMs: r.grace_ms,
    state: r.state as AgentUpgradeState,
    reason: r.reason,
    total: Object.values(counts).reduce((a, b) => a + b, 0),
    counts,
    createdAt: r.created_at,
    createdBy: r.created_by,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
  };
}

/** What a finished `agent.upgrade` command means for its node. */
export function nodeOutcome(state: CommandState, resultJson: string | null, errorJson: string | null): { state: 'upgraded' | 'rolled_back' | 'failed'; reason: string | null } {
  const error = fromJson<{ code: string; message: string }>(errorJson);
  const result = fromJson<{ outcome?: string }>(resultJson);
  if (state === 'succeeded' && result?.outcome === 'upgraded') return { state: 'upgraded', reason: null };
  if (error?.code === 'rolled_back') return { state: 'rolled_back', reason: error.message };
  if (error) return { state: 'failed', reason: `${error.code}: ${error.message}` };
  return { state: 'failed', reason: `the upgrade command ended ${state}` };
}

/**
 * Fleet-wide agent upgrades (docs/upgrades.md). A rollout is a list of nodes in batches; the driver
 * (`step`, on every sweep and when an upgrade command ends) settles the nodes whose command ended,
 * pauses when failures pass the threshold, and starts the next nodes. Every change is a conditional
 * update against the transition tables and each node's command has a fixed requestId, so two
 * replicas driving the same rollout start each node once.
 */
export class AgentUpgradeService {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: Context,
    private readonly commands: CommandService,
    private readonly audit: (r: AuditRecord) => void,
  ) {}

  private async targets(t: JobTarget): Promise<NodesTable[]> {
    const all = (await listNodeRows(this.ctx.store.db)).filter((n) => n.protocol === 'steward');
    if ('all' in t) return all;
    if ('selector' in t) {
      const sel = parseSelector(t.selector, 'target.selector');
      return all.filter((n) => matchesSelector(fromJson<Labels>(n.labels) ?? {}, sel));
    }
    const byKey = new Map<string, NodesTable>();
    for (const n of all) byKey.set(n.name, n).set(n.id, n);
    const missing = t.nodes.filter((k) => !byKey.has(k));
    if (missing.length) {
      throw new ValidationError(`target.nodes: no such node: ${missing.slice(0, 20).join(', ')}`, [
        { field: 'target.nodes', rule: `unknown node(s): ${missing.slice(0, 20).join(', ')}` },
      ]);
    }
    return [...new Map(t.nodes.map((k) => [byKey.get(k)!.id, byKey.get(k)!])).values()];
  }

  async create(body: AgentUpgradeCreate, requester?: Requester): Promise<AgentUpgradeDetail> {
    if (body.batchSize !== undefined && body.maxUnavailable !== undefined) {
      throw new ValidationError('give batchSize or maxUnavailable, not both', [{ field: 'batchSize', rule: 'not with maxUnavailable' }]);
    }
    const nodes = await this.targets(body.target);
    if (nodes.length === 0) throw new ValidationError('target matches no node', [{ field: 'target', rule: 'must match at least one node' }]);
    // One package per architecture, found by its file name in the artifact store.
    const archOf = (n: NodesTable) => fromJson<Inventory>(n.inventory)?.arch ?? 'unknown';
    const shaByArch = new Map<string, string>();
    const missing: string[] = [];
    for (const arch of new Set(nodes.map(archOf))) {
      const a = await artifactByName(this.ctx.store.db, packageFileName(body.version, arch));
      if (a) shaByArch.set(arch, a.sha256);
      else missing.push(packageFileName(body.version, arch));
    }
    if (missing.length) {
      throw new NotFoundError('agent package', missing.join(', '));
    }
    const now = this.ctx.now();
    const id = newId('upg');
    const canary = Math.min(body.canary ?? 0, nodes.length);
    const size = body.batchSize ?? body.maxUnavailable ?? 1;
    const row: AgentUpgradesTable = {
      id,
      version: body.version,
      target: JSON.stringify(body.target),
      batch_size: body.batchSize ?? null,
      max_unavailable: body.batchSize === undefined ? (body.maxUnavailable ?? 1) : null,
      canary,
      failure_threshold: body.failureThreshold ?? 0,
      grace_ms: body.graceMs ?? DEFAULT_UPGRADE_GRACE_MS,
      state: 'running',
      reason: null,
      created_at: now,
      created_by: requester?.name ?? null,
      updated_at: now,
      finished_at: null,
    };
    // Batch 0 is the canary when there is one; then groups of batchSize (or maxUnavailable, for display).
    const nodeRows: AgentUpgradeNodesTable[] = nodes.map((n, i) => ({
      upgrade_id: id,
      node_id: n.id,
      position: i,
      batch: i < canary ? 0 : Math.floor((i - canary) / size) + (canary > 0 ? 1 : 0),
      state: 'pending',
      sha256: shaByArch.get(archOf(n))!,
      from_version: fromJson<Inventory>(n.inventory)?.agentVersion ?? null,
      command_id: null,
      reason: null,
      started_at: null,
      finished_at: null,
    }));
    await this.ctx.store.tx((db) => insertAgentUpgrade(db, row, nodeRows));
    this.publish(row);
    this.kick(id);
    return this.get(id);
  }

  async list(q: { state?: AgentUpgradeState; limit?: number }): Promise<AgentUpgrade[]> {
    const rows = await listAgentUpgradeRows(this.ctx.store.db, q);
    const counts = await agentUpgradeCounts(this.ctx.store.db, rows.map((r) => r.id));
    return rows.map((r) => toApi(r, counts.get(r.id) ?? {}));
  }

  async get(id: string): Promise<AgentUpgradeDetail> {
    const row = await getAgentUpgradeRow(this.ctx.store.db, id);
    if (!row) throw new NotFoundError('agent upgrade', id);
    const nodes = await agentUpgradeNodeRows(this.ctx.store.db, id);
    const counts: Record<string, number> = {};
    const batches = new Map<number, { batch: number; canary: boolean; total: number; counts: Record<string, number> }>();
    for (const n of nodes) {
      counts[n.state] = (counts[n.state] ?? 0) + 1;
      const b = batches.get(n.batch) ?? { batch: n.batch, canary: row.canary > 0 && n.batch === 0, total: 0, counts: {} };
      b.total++;
      b.counts[n.state] = (b.counts[n.state] ?? 0) + 1;
      batches.set(n.batch, b);
    }
    return {
      ...toApi(row, counts),
      batches: [...batches.values()].sort((a, b) => a.batch - b.batch),
      nodes: nodes.map((n) => ({
        nodeId: n.node_id,
        name: n.name ?? n.node_id,
        batch: n.batch,
        state: n.state as AgentUpgradeNodeState,
        fromVersion: n.from_version,
        commandId: n.command_id,
        reason: n.reason,
        startedAt: n.started_at,
        finishedAt: n.finished_at,
      })),
    };
  }

  private async move(id: string, to: AgentUpgradeState, reason: string | null, verb: string): Promise<AgentUpgradeDetail> {
    const row = await transitionAgentUpgrade(this.ctx.store.db, id, to, this.ctx.now(), reason);
    if (!row) {
      const now = await getAgentUpgradeRow(this.ctx.store.db, id);
      if (!now) throw new NotFoundError('agent upgrade', id);
      throw new InvalidStateError(`agent upgrade ${id} is ${now.state}: it cannot be ${verb}`, { state: now.state });
    }
    if (to === 'aborted') await skipPendingAgentUpgradeNodes(this.ctx.store.db, id, this.ctx.now());
    this.publish(row, { ...(reason ? { reason } : {}) });
    if (to === 'running') this.kick(id);
    return this.get(id);
  }

  pause = (id: string) => this.move(id, 'paused', 'paused by an operator', 'paused');
  resume = (id: string) => this.move(id, 'running', null, 'resumed');
  abort = (id: string) => this.move(id, 'aborted', 'aborted by an operator', 'aborted');

  /** Drives one rollout soon (serialised in this process). */
  kick(id: string): void {
    this.chain = this.chain.then(() => this.step(id)).catch((err: unknown) => this.ctx.log.warn({ err, upgradeId: id }, 'agent upgrade: driving failed; retried on the next sweep'));
  }

  /** Drives every running rollout once (the sweep). */
  async driveAll(): Promise<void> {
    for (const id of await runningAgentUpgradeIds(this.ctx.store.db)) this.kick(id);
    await this.chain;
  }

  async idle(): Promise<void> {
    await this.chain;
  }

  private async step(id: string): Promise<void> {
    const db = this.ctx.store.db;
    const up = await getAgentUpgradeRow(db, id);
    if (!up || up.state !== 'running') return;
    const nodes = await agentUpgradeNodeRows(db, id);
    const now = this.ctx.now();
    // 1. Nodes whose command ended.
    for (const n of nodes) {
      if (n.state !== 'upgrading' || !n.command_id) continue;
      const cmd = await getCommandRow(db, n.command_id);
      const outcome = !cmd
        ? { state: 'failed' as const, reason: 'its upgrade command is gone' }
        : isTerminalCommandState(cmd.state as CommandState)
          ? nodeOutcome(cmd.state as CommandState, cmd.result, cmd.error)
          : null;
      if (!outcome) continue;
      const done = await finishAgentUpgradeNode(db, id, n.node_id, outcome.state, outcome.reason, now);
      if (done) this.publish(up, { nodeId: n.node_id, nodeState: outcome.state, ...(outcome.reason ? { reason: outcome.reason } : {}) });
      n.state = outcome.state;
      n.reason = outcome.reason;
    }
    // 2. Too many failures (or any in the canary batch): pause, for an operator to look.
    const failed = nodes.filter((n) => FAILED_NODE.has(n.state));
    const canaryFailed = up.canary > 0 && failed.some((n) => n.batch === 0);
    if (failed.length > up.failure_threshold || canaryFailed) {
      const last = failed[failed.length - 1]!;
      const reason = `${canaryFailed ? 'a canary node failed' : `${failed.length} node(s) failed or rolled back (threshold ${up.failure_threshold})`}; last: ${last.name ?? last.node_id} ${last.state}: ${last.reason ?? ''}`.slice(0, 2000);
      const paused = await transitionAgentUpgrade(db, id, 'paused', now, reason);
      if (paused) {
        this.publish(paused, { reason });
        this.audit({ at: now, actorId: null, actorName: 'control-plane', role: null, action: 'agent-upgrade.paused', target: id, sourceIp: '', userAgent: null, status: 200, errorCode: null, summary: { reason, failed: failed.length } });
        this.ctx.log.warn({ upgradeId: id, failed: failed.length }, `agent upgrade paused: ${reason}`);
      }
      return;
    }
    // 3. Everyone ended: done.
    if (nodes.every((n) => FINAL_NODE.has(n.state))) {
      const done = await transitionAgentUpgrade(db, id, 'completed', now);
      if (done) this.publish(done);
      return;
    }
    // 4. The next nodes: the canary batch alone first; then the lowest unfinished batch (batchSize),
    //    or up to maxUnavailable at once (rolling).
    const upgrading = nodes.filter((n) => n.state === 'upgrading').length;
    const canaryOpen = up.canary > 0 && nodes.some((n) => n.batch === 0 && !FINAL_NODE.has(n.state));
    let next: AgentUpgradeNodesTable[];
    if (canaryOpen) next = nodes.filter((n) => n.batch === 0 && n.state === 'pending');
    else if (up.batch_size !== null) {
      const batch = Math.min(...nodes.filter((n) => !FINAL_NODE.has(n.state)).map((n) => n.batch));
      next = nodes.filter((n) => n.batch === batch && n.state === 'pending');
    } else {
      next = nodes.filter((n) => n.state === 'pending').slice(0, Math.max(0, (up.max_unavailable ?? 1) - upgrading));
    }
    for (const n of next) await this.startNode(up, n, now);
  }

  private async startNode(up: AgentUpgradesTable, n: AgentUpgradeNodesTable, now: number): Promise<void> {
    let commandId: string;
    try {
      const { command } = await this.commands.submit({
        node: n.node_id,
        type: 'agent.upgrade',
        payload: { version: up.version, sha256: n.sha256, graceMs: up.grace_ms },
        // The same for every replica and retry: the node gets one upgrade command per rollout.
        requestId: `agent-upgrade:${up.id}:${n.node_id}`,
        timeoutMs: up.grace_ms + UPGRADE_RUN_MS,
        ttlMs: UPGRADE_TTL_MS,
      });
      commandId = command.id;
    } catch (e) {
      // An agent without the `agent` module (too old, turned off), a node deleted meanwhile.
      const reason = e instanceof Error ? e.message : String(e);
      if (await finishAgentUpgradeNode(this.ctx.store.db, up.id, n.node_id, 'failed', reason.slice(0, 2000), now)) {
        this.publish(up, { nodeId: n.node_id, nodeState: 'failed', reason });
      }
      return;
    }
    if (await startAgentUpgradeNode(this.ctx.store.db, up.id, n.node_id, commandId, now)) {
      this.publish(up, { nodeId: n.node_id, nodeState: 'upgrading' });
    }
  }

  private publish(row: AgentUpgradesTable, extra: { nodeId?: string; nodeState?: AgentUpgradeNodeState; reason?: string } = {}): void {
    this.ctx.bus.publish({ kind: 'agent-upgrade', at: this.ctx.now(), upgradeId: row.id, version: row.version, state: row.state as AgentUpgradeState, ...extra });
  }
}
