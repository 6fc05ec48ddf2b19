import {
  ACTIVE_ATTEMPT_STATES,
  compile,
  ConflictError,
  DEFAULT_TASK_RETRY_DELAY_MS,
  DEFAULT_TASK_TIMEOUT_MS,
  ExecTaskPayload,
  InvalidStateError,
  isTerminalTaskState,
  newId,
  NotFoundError,
  parseSelector,
  PRIORITY_RANK,
  ScriptTaskPayload,
  ValidationError,
  type SchedulerState,
  type Task,
  type TaskCreate,
  type TaskDetail,
  type TaskListQuery,
  type TaskState,
} from '@steward/protocol';
import type { CommandService } from '../commands/service.js';
import type { Context } from '../core/context.js';
import { loadWhenDone } from '../core/wait.js';
import { findNodeRow } from '../store/queries/nodes.js';
import { countAttemptsInStates, listAttemptRows, transitionAttempt } from '../store/queries/task-attempts.js';
import { getSchedulerRow, setSchedulerPaused } from '../store/queries/task-scheduler.js';
import { countTasksInState, getTaskRow, insertTaskOnce, listTaskRows, transitionTask } from '../store/queries/tasks.js';
import type { TaskAttemptsTable, TasksTable } from '../store/schema.js';
import { publishTaskState } from './events.js';
import { attemptFromRow, taskFromRow } from './rows.js';

const execPayload = compile(ExecTaskPayload);
const scriptPayload = compile(ScriptTaskPayload);

/** Checks a payload against its kind's schema; issues name `payload.<field>`. */
function checkPayload(kind: TaskCreate['kind'], payload: unknown): void {
  const v = kind === 'exec' ? execPayload : scriptPayload;
  try {
    v.parse(payload, `payload of a ${kind} task`);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    const issues = (e.details as { issues: { field: string; rule: string }[] }).issues.map((i) => ({
      field: i.field === '(root)' ? 'payload' : `payload.${i.field}`,
      rule: i.rule,
    }));
    throw new ValidationError(`invalid payload of a ${kind} task: ${issues.map((i) => `${i.field}: ${i.rule}`).join('; ')}`, issues);
  }
}

export class TaskService {
  constructor(
    private readonly ctx: Context,
    private readonly commands: CommandService,
    private readonly wake: () => void,
    private readonly replicaId: string,
  ) {}

  async submit(body: TaskCreate): Promise<{ task: Task; created: boolean }> {
    checkPayload(body.kind, body.payload);
    const requirements = body.requirements ?? {};
    if (requirements.selector !== undefined) parseSelector(requirements.selector, 'requirements.selector');
    const priority = body.priority ?? 'normal';
    const spec = {
      kind: body.kind,
      payload: body.payload,
      requirements,
      priority,
      strategy: body.strategy ?? null,
      timeoutMs: body.timeoutMs ?? DEFAULT_TASK_TIMEOUT_MS,
      maxRetries: body.maxRetries ?? 0,
      retryDelayMs: body.retryDelayMs ?? DEFAULT_TASK_RETRY_DELAY_MS,
      retryOnNodeLoss: body.retryOnNodeLoss ?? true,
    };
    const now = this.ctx.now();
    const row: TasksTable = {
      id: newId('task'),
      request_id: body.requestId ?? null,
      request_hash: body.requestId ? await this.commands.requests.hash(spec) : null,
      kind: spec.kind,
      payload: JSON.stringify(spec.payload),
      // Canonical key order: the scheduler groups tasks with equal requirements by this text.
      requirements: JSON.stringify(Object.fromEntries(Object.entries(requirements).sort(([a], [b]) => a.localeCompare(b)))),
      priority,
      priority_rank: PRIORITY_RANK[priority],
      strategy: spec.strategy,
      timeout_ms: spec.timeoutMs,
      max_retries: spec.maxRetries,
      retry_delay_ms: spec.retryDelayMs,
      retry_on_node_loss: spec.retryOnNodeLoss ? 1 : 0,
      state: 'queued',
      reason: 'waiting for the scheduler',
      node_id: null,
      attempts: 0,
      current_attempt_id: null,
      progress: null,
      exit_code: null,
      error: null,
      retry_at: null,
      queued_at: now,
      created_at: now,
      started_at: null,
      finished_at: null,
    };
    const { row: saved, created } = await insertTaskOnce(this.ctx.store.db, row);
    if (!created) {
      if (saved.request_hash !== row.request_hash) {
        throw new ConflictError(
          'request_id_conflict',
          `requestId ${JSON.stringify(body.requestId)} was already used for a different task (${saved.id})`,
          { taskId: saved.id },
        );
      }
      return { task: taskFromRow(saved), created: false };
    }
    publishTaskState(this.ctx, saved);
    this.wake();
    return { task: taskFromRow(saved), created: true };
  }

  async get(id: string): Promise<TaskDetail> {
    const row = await getTaskRow(this.ctx.store.db, id);
    if (!row) throw new NotFoundError('task', id);
    const attempts = await listAttemptRows(this.ctx.store.db, id);
    return { ...taskFromRow(row), attemptList: attempts.map(attemptFromRow) };
  }

  /** Holds until the task ends or `waitMs` passes, then returns it as it is. */
  waitForEnd(id: string, waitMs: number): Promise<TaskDetail> {
    return loadWhenDone(
      this.ctx.bus,
      (e) => e.kind === 'task.state' && e.taskId === id && isTerminalTaskState(e.state),
      () => this.get(id),
      (t) => isTerminalTaskState(t.state),
      waitMs,
    );
  }

  async list(q: TaskListQuery): Promise<Task[]> {
    let nodeId: string | undefined;
    if (q.node) {
      const node = await findNodeRow(this.ctx.store.db, q.node);
      if (!node) throw new NotFoundError('node', q.node);
      nodeId = node.id;
    }
    const rows = await listTaskRows(this.ctx.store.db, { state: q.state as TaskState | undefined, nodeId, priority: q.priority, limit: q.limit });
    return rows.map(taskFromRow);
  }

  async cancel(id: string, reason = 'cancelled by an operator'): Promise<TaskDetail> {
    const now = this.ctx.now();
    const error = JSON.stringify({ code: 'cancelled', message: reason });
    const out = await this.ctx.store.tx(async (db) => {
      const task = await transitionTask(db, id, 'cancelled', { finished_at: now, error, reason: null });
      if (!task) return null;
      let attempt: TaskAttemptsTable | undefined;
      if (task.current_attempt_id) attempt = await transitionAttempt(db, task.current_attempt_id, 'cancelled', { finished_at: now, error });
      return { task, attempt };
    });
    if (!out) {
      const before = await getTaskRow(this.ctx.store.db, id);
      if (!before) throw new NotFoundError('task', id);
      throw new InvalidStateError(`task ${id} has already ended (${before.state}); it cannot be cancelled`, { state: before.state });
    }
    // Tells the agent: the process group gets SIGTERM, then SIGKILL after a grace period.
    if (out.attempt) await this.commands.cancel(out.attempt.command_id, reason).catch(() => {});
    publishTaskState(this.ctx, out.task);
    this.wake();
    return this.get(id);
  }

  async schedulerState(): Promise<SchedulerState> {
    const db = this.ctx.store.db;
    const row = await getSchedulerRow(db);
    const now = this.ctx.now();
    const held = row.owner !== null && row.expires_at > now;
    const active = (await countAttemptsInStates(db, ACTIVE_ATTEMPT_STATES)).reduce((n, r) => n + r.n, 0);
    return {
      paused: Boolean(row.paused),
      leader: held ? row.owner : null,
      replica: this.replicaId,
      leaseExpiresAt: held ? row.expires_at : null,
      queued: await countTasksInState(db, 'queued'),
      active,
    };
  }

  async setPaused(paused: boolean): Promise<SchedulerState> {
    await setSchedulerPaused(this.ctx.store.db, paused);
    this.wake();
    return this.schedulerState();
  }
}
