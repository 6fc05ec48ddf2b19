import type { TaskState } from '@steward/protocol';
import type { Context } from '../core/context.js';
import type { TasksTable } from '../store/schema.js';

export function publishTaskState(ctx: Context, row: TasksTable): void {
  ctx.bus.publish({
    kind: 'task.state',
    at: ctx.now(),
    taskId: row.id,
    state: row.state as TaskState,
    nodeId: row.node_id,
    attempt: row.attempts,
    progress: row.progress,
    reason: row.reason,
  });
}
