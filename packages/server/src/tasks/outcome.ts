import type { Kysely } from 'kysely';
import {
  backoffMs,
  formatDuration,
  MAX_TASK_RETRY_DELAY_MS,
  type AttemptState,
  type CommandError,
  type TaskRunResult,
} from '@steward/protocol';
import { countFailedAttempts, transitionAttempt } from '../store/queries/task-attempts.js';
import { getTaskRetryPolicy, transitionTask } from '../store/queries/tasks.js';
import type { Database, TaskAttemptsTable, TasksTable } from '../store/schema.js';

/** How an attempt ended, as the store records it. */
export interface AttemptEnd {
  state: Exclude<AttemptState, 'placed' | 'running'>;
  result?: Partial<TaskRunResult> | null;
  error?: CommandError | null;
  /** Not the task's own doing (node lost, agent restarted or shut down): requeue if allowed. */
  nodeLoss: boolean;
}

/** Backoff before try `failures + 1`: base × 2^(failures−1), capped. */
export function retryDelay(baseMs: number, failures: number): number {
  return backoffMs({ kind: 'exponential', initialMs: baseMs, maxMs: MAX_TASK_RETRY_DELAY_MS }, Math.max(0, failures - 1));
}

/**
 * Ends one attempt and moves its task on (one transaction, the caller's): success ends the task;
 * a failure is retried with backoff up to maxRetries; a node loss requeues at once unless
 * retryOnNodeLoss is false. Returns the task row when it moved, undefined when the attempt had
 * already ended (a duplicate or late report).
 */
export async function endAttempt(
  db: Kysely<Database>,
  attempt: TaskAttemptsTable,
  end: AttemptEnd,
  now: number,
): Promise<{ attempt: TaskAttemptsTable; task: TasksTable | undefined } | undefined> {
  const r = end.result ?? {};
  const ended = await transitionAttempt(db, attempt.id, end.state, {
    finished_at: now,
    started_at: attempt.started_at ?? (end.state === 'lost' ? null : now),
    exit_code: r.exitCode ?? null,
    signal: r.signal ?? null,
    cpu_ms: r.cpuMs ?? null,
    peak_memory_bytes: r.peakMemoryBytes ?? null,
    tail: r.tail ?? null,
    ...(r.truncated ? { output_truncated: 1 } : {}),
    // Output streamed as command output is not counted as it arrives (module-event output is); the agent's count is the same number.
    ...(typeof r.outputBytes === 'number' ? { output_bytes: r.outputBytes } : {}),
    error: end.error ? JSON.stringify(end.error) : null,
  });
  if (!ended) return undefined;
  const errorJson = end.error ? JSON.stringify(end.error) : null;
  let task: TasksTable | undefined;
  if (end.state === 'succeeded') {
    task = await transitionTask(
      db,
      attempt.task_id,
      'succeeded',
      { finished_at: now, exit_code: r.exitCode ?? 0, error: null, reason: null, progress: 100 },
      attempt.id,
    );
  } else if (end.nodeLoss) {
    const current = await getTaskRetryPolicy(db, attempt.task_id);
    if (current && Number(current.retry_on_node_loss)) {
      task = await transitionTask(
        db,
        attempt.task_id,
        'queued',
        { current_attempt_id: null, reason: `attempt ${attempt.number} lost (${end.error?.message ?? end.state}); waiting for a node`, retry_at: null, progress: null },
        attempt.id,
      );
    } else {
      task = await transitionTask(db, attempt.task_id, 'failed', { finished_at: now, error: errorJson, reason: null }, attempt.id);
    }
  } else {
    const row = await getTaskRetryPolicy(db, attempt.task_id);
    const failures = await countFailedAttempts(db, attempt.task_id);
    if (row && failures <= row.max_retries) {
      const delay = retryDelay(row.retry_delay_ms, failures);
      task = await transitionTask(
        db,
        attempt.task_id,
        'queued',
        {
          current_attempt_id: null,
          retry_at: now + delay,
          reason: `attempt ${attempt.number} ${end.state === 'timed_out' ? 'timed out' : 'failed'}; retry ${failures} of ${row.max_retries} in ${formatDuration(delay)}`,
          exit_code: r.exitCode ?? null,
          error: errorJson,
          progress: null,
        },
        attempt.id,
      );
    } else {
      task = await transitionTask(
        db,
        attempt.task_id,
        'failed',
        { finished_at: now, exit_code: r.exitCode ?? null, error: errorJson, reason: null },
        attempt.id,
      );
    }
  }
  return { attempt: ended, task };
}

/** Reads a finished `task.run` command as an attempt end. */
export function endFromCommand(
  state: string,
  result: unknown,
  error: CommandError | null,
  taskCancelled: boolean,
): AttemptEnd {
  const res = (result && typeof result === 'object' ? result : null) as Partial<TaskRunResult> | null;
  switch (state) {
    case 'succeeded':
      return { state: 'succeeded', result: res, error: null, nodeLoss: false };
    case 'timed_out':
      return { state: 'timed_out', result: res, error, nodeLoss: false };
    case 'cancelled':
      // Cancelled without the task being cancelled: the agent shut down, or the command was cancelled by hand.
      return { state: 'cancelled', result: res, error, nodeLoss: !taskCancelled };
    case 'expired':
      return { state: 'lost', result: null, error, nodeLoss: true };
    default:
      // `interrupted`: the agent restarted mid-run; `fenced`: the agent stopped it after going
      // unacknowledged for the fence time (core/task-fence.ts). The node's doing, not the task's.
      if (error?.code === 'interrupted' || error?.code === 'fenced') return { state: 'lost', result: res, error, nodeLoss: true };
      return { state: 'failed', result: res, error, nodeLoss: false };
  }
}
