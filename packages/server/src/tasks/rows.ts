import {
  ExecTaskPayload,
  redactWriteOnly,
  ScriptTaskPayload,
  type AttemptState,
  type CommandError,
  type Task,
  type TaskAttempt,
  type TaskKind,
  type TaskPriority,
  type TaskRequirements,
  type TaskState,
  type TaskStrategy,
} from '@steward/protocol';
import { fromJson } from '../store/rows.js';
import type { TaskAttemptsTable, TasksTable } from '../store/schema.js';

export function taskFromRow(r: TasksTable): Task {
  return {
    id: r.id,
    requestId: r.request_id,
    kind: r.kind as TaskKind,
    // env values are secret: never shown, to any role.
    payload: redactWriteOnly(r.kind === 'script' ? ScriptTaskPayload : ExecTaskPayload, fromJson(r.payload)).value,
    requirements: fromJson<TaskRequirements>(r.requirements) ?? {},
    priority: r.priority as TaskPriority,
    strategy: r.strategy as TaskStrategy | null,
    timeoutMs: r.timeout_ms,
    maxRetries: r.max_retries,
    retryDelayMs: r.retry_delay_ms,
    retryOnNodeLoss: Boolean(r.retry_on_node_loss),
    state: r.state as TaskState,
    reason: r.reason,
    nodeId: r.node_id,
    attempts: r.attempts,
    progress: r.progress,
    exitCode: r.exit_code,
    error: fromJson<CommandError>(r.error),
    retryAt: r.retry_at,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

export function attemptFromRow(r: TaskAttemptsTable): TaskAttempt {
  return {
    id: r.id,
    taskId: r.task_id,
    number: r.number,
    nodeId: r.node_id,
    commandId: r.command_id,
    state: r.state as AttemptState,
    placedAt: r.placed_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    exitCode: r.exit_code,
    signal: r.signal,
    cpuMs: r.cpu_ms,
    peakMemoryBytes: r.peak_memory_bytes,
    progress: r.progress,
    outputBytes: Number(r.output_bytes),
    outputTruncated: Boolean(r.output_truncated),
    error: fromJson<CommandError>(r.error),
  };
}
