import { newId, type TaskRequirements, type TaskRunPayload, type TaskStrategy } from '@steward/protocol';
import type { CommandService } from '../commands/service.js';
import { builtinShown, newCommandRow } from '../commands/service.js';
import type { Context } from '../core/context.js';
import { insertCommands } from '../store/queries/commands.js';
import { activeAttemptCounts, insertAttempts } from '../store/queries/task-attempts.js';
import { onlineTaskNodes } from '../store/queries/task-nodes.js';
import { claimLease, getSchedulerRow, releaseLease } from '../store/queries/task-scheduler.js';
import { dueQueuedTasks, markPlaced, setQueuedReason } from '../store/queries/tasks.js';
import type { CommandsTable, TaskAttemptsTable, TaskNodesTable, TasksTable } from '../store/schema.js';
import { publishTaskState } from './events.js';
import { placeTasks, type QueuedTask } from './placement.js';
import { RequirementSet, type NodeFacts } from './requirements.js';
import type { TaskSettings } from './settings.js';
import { TASK_RUN } from './attempts.js';

/** The agent gets this long past the task's own timeout before the command pipeline gives up. */
const COMMAND_TIMEOUT_MARGIN_MS = 15_000;
/** A placed attempt not taken by its node within this long expires and the task is placed again. */
const ATTEMPT_TTL_MS = 300_000;

class LeaseLost extends Error {}

export interface PassResult {
  leader: boolean;
  considered: number;
  placed: number;
}

/**
 * Places queued tasks on nodes. One pass: queued tasks in queue order, online nodes with
 * their free slots, the pure `placeTasks`, then one transaction that records the attempts
 * and their `task.run` commands, fenced by the scheduler lease so that of several control
 * planes on one database only the lease holder places. Woken on submit, node changes and
 * finished attempts; also on a timer (retry backoff, aging, lease take-over).
 */
export class Scheduler {
  private dirty = false;
  private loop: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private lastPassAt = 0;
  private readonly facts = new Map<string, { updatedAt: number; facts: NodeFacts }>();
  private readonly requirementCache = new Map<string, RequirementSet>();

  constructor(
    private readonly ctx: Context,
    private readonly commands: CommandService,
    private readonly settings: TaskSettings,
    private readonly replicaId: string,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.wake(), this.settings.tickMs);
    this.timer.unref();
    this.wake();
  }

  wake(): void {
    if (this.stopped) return;
    this.dirty = true;
    if (!this.loop) this.loop = this.run().finally(() => (this.loop = null));
  }

  private async run(): Promise<void> {
    while (this.dirty && !this.stopped) {
      // Wake-ups that come close together (many attempts ending) share one pass: each pass
      // reads every node and the queue head, so one per finished task would cost more than it places.
      const wait = this.lastPassAt + this.settings.passGapMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      this.dirty = false;
      this.lastPassAt = Date.now();
      try {
        const r = await this.pass();
        // A full batch may have left more behind; look again at once.
        if (r.placed > 0 && r.considered >= this.settings.batch) this.dirty = true;
      } catch (err) {
        if (!(err instanceof LeaseLost)) this.ctx.log.error({ err }, 'task scheduling pass failed');
      }
    }
  }

  async drain(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.loop;
    await releaseLease(this.ctx.store.db, this.replicaId).catch(() => {});
  }

  /** One scheduling pass; exported for tests. */
  async pass(): Promise<PassResult> {
    const db = this.ctx.store.db;
    const now = this.ctx.now();
    const sched = await getSchedulerRow(db);
    const mine = sched.owner === this.replicaId && sched.expires_at > now;
    // Renew when half the lease is gone; take it when free or expired.
    if (!mine || sched.expires_at - now < this.settings.leaseMs / 2) {
      if (!(await claimLease(db, this.replicaId, now, this.settings.leaseMs))) return { leader: false, considered: 0, placed: 0 };
    }
    if (sched.paused) return { leader: true, considered: 0, placed: 0 };
    const [nodeRows, running] = await Promise.all([onlineTaskNodes(db), activeAttemptCounts(db)]);
    const nodes = nodeRows.map((r) => this.nodeFacts(r));
    let free = 0;
    for (const n of nodes) free += Math.max(0, n.slots - (running.get(n.id) ?? 0));
    // Read the queue a page at a time, only as far as free slots may reach: with a long queue
    // and a few slots freed, a pass reads a few rows, not the whole batch. Tasks that cannot be
    // placed (requirements) do not stop the pages; the batch bounds one pass.
    const rows: TasksTable[] = [];
    const page = Math.min(this.settings.batch, Math.max(64, free * 2));
    while (rows.length < this.settings.batch) {
      const got = await dueQueuedTasks(db, now, this.settings.agingMs, page, rows.length);
      rows.push(...got);
      if (got.length < page) break;
      const placeable = placeTasks(rows.map((r) => this.queued(r)), nodes, running, this.settings.defaultStrategy).placements.length;
      if (placeable >= free) break;
    }
    if (rows.length === 0) return { leader: true, considered: 0, placed: 0 };
    const queued: QueuedTask[] = rows.map((r) => this.queued(r));
    const { placements, reasons } = placeTasks(queued, nodes, running, this.settings.defaultStrategy);
    const byId = new Map(rows.map((r) => [r.id, r]));
    let placedRows: TasksTable[] = [];
    let commandRows: CommandsTable[] = [];
    if (placements.length) {
      // Taken after the slot counts were read: an attempt counted as finished has finished_at
      // before this, so [placed_at, finished_at) intervals per node show true slot use.
      const placedAt = this.ctx.now();
      const planned = placements.map((p) => this.plan(byId.get(p.taskId)!, p.nodeId, placedAt));
      const done = await this.ctx.store.tx(async (tx) => {
        // The fence: still the lease holder, in this very transaction (see claimLease).
        if (!(await claimLease(tx, this.replicaId, placedAt, this.settings.leaseMs))) throw new LeaseLost();
        const ok = await markPlaced(
          tx,
          planned.map((p) => ({ taskId: p.task.id, nodeId: p.attempt.node_id, attemptId: p.attempt.id, number: p.attempt.number })),
        );
        const kept = planned.filter((p) => ok.has(p.task.id));
        await insertAttempts(tx, kept.map((p) => p.attempt));
        await insertCommands(tx, kept.map((p) => p.command));
        return kept;
      });
      placedRows = done.map((p) => ({
        ...p.task,
        state: 'placed',
        node_id: p.attempt.node_id,
        current_attempt_id: p.attempt.id,
        attempts: p.attempt.number,
        reason: null,
        retry_at: null,
        progress: null,
      }));
      commandRows = done.map((p) => p.command);
    }
    this.commands.pushNew(commandRows);
    for (const t of placedRows) publishTaskState(this.ctx, t);
    await this.storeReasons(rows, reasons);
    return { leader: true, considered: rows.length, placed: placedRows.length };
  }

  private queued(r: TasksTable): QueuedTask {
    return { id: r.id, requirementsKey: r.requirements, requirements: this.requirements(r.requirements), strategy: r.strategy as TaskStrategy | null };
  }

  private plan(task: TasksTable, nodeId: string, now: number): { task: TasksTable; attempt: TaskAttemptsTable; command: CommandsTable } {
    const number = task.attempts + 1;
    const attemptId = newId('att');
    const p = JSON.parse(task.payload) as Record<string, unknown>;
    const payload: TaskRunPayload = { ...(p as object), taskId: task.id, attemptId, kind: task.kind as TaskRunPayload['kind'], timeoutMs: task.timeout_ms };
    const command = newCommandRow(
      { type: TASK_RUN, payload: payload as unknown as Record<string, unknown>, timeoutMs: task.timeout_ms + COMMAND_TIMEOUT_MARGIN_MS, ttlMs: ATTEMPT_TTL_MS },
      nodeId,
      now,
      // env values stay out of the command's shown payload; the agent gets them from secret_payload.
      { shown: builtinShown(TASK_RUN, payload) },
    );
    const attempt: TaskAttemptsTable = {
      id: attemptId,
      task_id: task.id,
      number,
      node_id: nodeId,
      command_id: command.id,
      state: 'placed',
      placed_at: now,
      started_at: null,
      finished_at: null,
      exit_code: null,
      signal: null,
      cpu_ms: null,
      peak_memory_bytes: null,
      progress: null,
      output_bytes: 0,
      output_truncated: 0,
      tail: null,
      error: null,
    };
    return { task, attempt, command };
  }

  /** Writes changed reasons only, grouped, so a long queue costs a few statements per pass. */
  private async storeReasons(rows: TasksTable[], reasons: Map<string, string>): Promise<void> {
    const byReason = new Map<string, string[]>();
    for (const r of rows) {
      const reason = reasons.get(r.id);
      if (reason === undefined || reason === r.reason) continue;
      const list = byReason.get(reason);
      if (list) list.push(r.id);
      else byReason.set(reason, [r.id]);
    }
    if (byReason.size === 0) return;
    await this.ctx.store.batch(async (db) => {
      for (const [reason, ids] of byReason) await setQueuedReason(db, ids, reason);
    });
  }

  private nodeFacts(r: TaskNodesTable): NodeFacts {
    const cached = this.facts.get(r.node_id);
    if (cached && cached.updatedAt === r.updated_at) return cached.facts;
    const facts: NodeFacts = {
      id: r.node_id,
      slots: r.slots,
      cpuCores: r.cpu_cores,
      memoryBytes: r.memory_bytes,
      diskBytes: r.disk_bytes,
      platform: r.platform,
      arch: r.arch,
      capabilities: new Set(JSON.parse(r.capabilities) as string[]),
      labels: JSON.parse(r.labels) as Record<string, string>,
      load: r.load,
    };
    this.facts.set(r.node_id, { updatedAt: r.updated_at, facts });
    return facts;
  }

  private requirements(json: string): RequirementSet {
    let set = this.requirementCache.get(json);
    if (!set) {
      if (this.requirementCache.size > 10_000) this.requirementCache.clear();
      set = new RequirementSet(JSON.parse(json) as TaskRequirements);
      this.requirementCache.set(json, set);
    }
    return set;
  }
}
