import { ACTIVE_ATTEMPT_STATES, type AttemptState, type CommandError } from '@steward/protocol';
import type { CommandService } from '../commands/service.js';
import type { Context } from '../core/context.js';
import { commandEndsByIds, type CommandBrief } from '../store/queries/commands.js';
import { attemptsByCommandIds, attemptsByIds, attemptsOnLostNodes, attemptsWithEndedCommands, transitionAttempt } from '../store/queries/task-attempts.js';
import { transitionTask } from '../store/queries/tasks.js';
import type { TaskAttemptsTable, TasksTable } from '../store/schema.js';
import { publishTaskState } from './events.js';
import { endAttempt, endFromCommand, type AttemptEnd } from './outcome.js';
import { fenceWaitMs, taskFence } from '../core/task-fence.js';

export const TASK_RUN = 'task.run';
const isActive = (s: string) => (ACTIVE_ATTEMPT_STATES as readonly string[]).includes(s);

/**
 * Follows attempts through their commands: started → running; a finished command ends the
 * attempt and moves the task on (success, retry with backoff, requeue after node loss). Starts
 * and ends of one moment are handled together in one transaction, so 10,000 quick tasks do not
 * cost 10,000 commits.
 */
export class AttemptTracker {
  private started = new Set<string>();
  private ended = new Set<string>();
  private flushing: Promise<void> | null = null;
  private scheduled = false;

  constructor(
    private readonly ctx: Context,
    private readonly commands: CommandService,
    /** A slot was freed or a task requeued: the scheduler should look again. */
    private readonly wake: () => void,
  ) {}

  commandStarted(commandId: string): void {
    this.started.add(commandId);
    this.schedule();
  }

  commandEnded(row: CommandBrief): void {
    if (row.type !== TASK_RUN) return;
    this.ended.add(row.id);
    this.schedule();
  }

  /** Waits until everything queued so far is stored. */
  async idle(): Promise<void> {
    while (this.flushing || this.scheduled) await (this.flushing ?? new Promise((r) => setImmediate(r)));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.flushing) {
        // Let the running flush finish, then pick up what arrived meanwhile.
        void this.flushing.then(() => this.schedule());
        return;
      }
      this.flushing = this.flush()
        .catch((err) => this.ctx.log.error({ err }, 'recording task attempt progress failed; the sweep retries'))
        .finally(() => (this.flushing = null));
    });
  }

  private async flush(): Promise<void> {
    // A start whose end is already here needs no separate write (quick tasks: most of them).
    const started = [...this.started].filter((id) => !this.ended.has(id));
    const ended = [...this.ended];
    this.started.clear();
    this.ended.clear();
    if (started.length) await this.markStarted(started);
    if (ended.length) await this.finishCommands(ended);
  }

  private async markStarted(commandIds: string[]): Promise<void> {
    const now = this.ctx.now();
    const moved: TasksTable[] = [];
    await this.ctx.store.tx(async (db) => {
      const attempts = await attemptsByCommandIds(db, commandIds);
      for (const a of attempts) {
        if (a.state !== 'placed') continue;
        const ok = await transitionAttempt(db, a.id, 'running', { started_at: now });
        if (!ok) continue;
        const t = await transitionTask(db, a.task_id, 'running', { started_at: now }, a.id);
        if (t) moved.push(t);
      }
    });
    for (const t of moved) publishTaskState(this.ctx, t);
  }

  /**
   * Ends the attempts of finished `task.run` commands (in chunks, one transaction each). A chunk
   * that fails is retried one command at a time, so one attempt that cannot be ended (a result
   * the store holds but cannot read, say) does not keep the other 499 waiting for ever.
   */
  async finishCommands(commandIds: string[]): Promise<number> {
    let n = 0;
    for (let i = 0; i < commandIds.length; i += 500) {
      const chunk = commandIds.slice(i, i + 500);
      try {
        n += await this.finishChunk(chunk);
      } catch (err) {
        if (chunk.length === 1) throw err;
        for (const id of chunk) {
          try {
            n += await this.finishChunk([id]);
          } catch (e) {
            this.ctx.log.warn({ err: e, commandId: id }, 'could not end the task attempt of a finished command; the repair pass tries again');
          }
        }
      }
    }
    return n;
  }

  private async finishChunk(commandIds: string[]): Promise<number> {
    const now = this.ctx.now();
    const changed: TasksTable[] = [];
    await this.ctx.store.tx(async (db) => {
      const attempts = (await attemptsByCommandIds(db, commandIds)).filter((a) => isActive(a.state));
      if (attempts.length === 0) return;
      const cmds = await commandEndsByIds(db, attempts.map((a) => a.command_id));
      const byId = new Map(cmds.map((c) => [c.id, c]));
      for (const a of attempts) {
        const c = byId.get(a.command_id);
        if (!c || ['pending', 'dispatched', 'running'].includes(c.state)) continue;
        const error = c.error ? (JSON.parse(c.error) as CommandError) : null;
        const end = endFromCommand(c.state, c.result ? JSON.parse(c.result) : null, error, false);
        const r = await endAttempt(db, a, end, now);
        if (r?.task) changed.push(r.task);
      }
    });
    for (const t of changed) publishTaskState(this.ctx, t);
    if (changed.length) this.wake();
    return changed.length;
  }

  /**
   * Attempts on nodes that went offline are lost: the task is placed again elsewhere (unless
   * retryOnNodeLoss is false) and the old command is cancelled, so if that node comes back
   * still running it, it is told to stop and its result is ignored. Not before the node's
   * fence has passed since it was last heard from (core/task-fence.ts): by then its agent has
   * stopped the attempt's processes itself, so the task never runs twice at once.
   */
  async sweepLostNodes(): Promise<number> {
    const now = this.ctx.now();
    const lost = (await attemptsOnLostNodes(this.ctx.store.db))
      .filter((l) => l.lastSeenAt === null || now - l.lastSeenAt >= fenceWaitMs(taskFence(this.ctx.settings, l.heartbeatIntervalMs ?? this.ctx.settings.heartbeatIntervalMs)))
      .map((l) => l.attempt);
    if (lost.length === 0) return 0;
    const changed: TasksTable[] = [];
    const ended: TaskAttemptsTable[] = [];
    await this.ctx.store.tx(async (db) => {
      for (const a of lost) {
        const end: AttemptEnd = {
          state: 'lost',
          error: { code: 'node_lost', message: `node ${a.node_id} went offline during attempt ${a.number}` },
          nodeLoss: true,
        };
        const r = await endAttempt(db, a, end, now);
        if (!r) continue;
        ended.push(r.attempt);
        if (r.task) changed.push(r.task);
      }
    });
    for (const a of ended) await this.cancelCommand(a.command_id, 'its node was lost; the task was placed again');
    for (const t of changed) publishTaskState(this.ctx, t);
    if (changed.length) this.wake();
    return ended.length;
  }

  /** Repairs attempts whose command ended while no process handled it (a control-plane crash). */
  async sweepEndedCommands(): Promise<number> {
    const ids = await attemptsWithEndedCommands(this.ctx.store.db);
    return ids.length ? this.finishCommands(ids) : 0;
  }

  /**
   * What a node says it runs: attempts it should not run (lost, cancelled, unknown, another
   * node's) are stopped; a missed start is recorded.
   */
  async reconcile(nodeId: string, running: { commandId: string; attemptId: string }[]): Promise<void> {
    if (running.length === 0) return;
    const rows = await attemptsByIds(this.ctx.store.db, running.map((r) => r.attemptId));
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const r of running) {
      const a = byId.get(r.attemptId);
      const state = a?.state as AttemptState | undefined;
      if (!a || a.node_id !== nodeId || a.command_id !== r.commandId || !state || !isActive(state)) {
        this.ctx.log.info({ nodeId, commandId: r.commandId, attemptId: r.attemptId, state }, 'a node runs a task attempt that is no longer its own; stopping it');
        this.commands.stopOnNode(nodeId, r.commandId);
      } else if (state === 'placed') {
        this.commandStarted(r.commandId);
      }
    }
  }

  async cancelCommand(commandId: string, reason: string): Promise<void> {
    try {
      await this.commands.cancel(commandId, reason);
    } catch {
      // Already ended: nothing runs any more, or its late result will be ignored.
    }
  }
}
