import { EventEmitter } from 'node:events';
import type { TaskOutputEventData, TaskProgressEventData } from '@steward/protocol';
import type { Context } from '../core/context.js';
import { getAttemptRow } from '../store/queries/task-attempts.js';
import { addOutputBytes, insertOutput, setAttemptProgress } from '../store/queries/task-output.js';
import { getTaskRow } from '../store/queries/tasks.js';
import type { TaskOutputTable } from '../store/schema.js';
import { publishTaskState } from './events.js';

interface AttemptInfo {
  taskId: string;
  number: number;
  nodeId: string;
  bytes: number;
  truncated: boolean;
}

/**
 * Stores the output chunks and progress agents stream (module events), bounded per attempt,
 * and tells local output readers that something arrived. Readers on other replicas poll.
 */
export class OutputRecorder {
  /** Emits the task id when new output or a state change for it is stored here. */
  readonly changed = new EventEmitter();
  private readonly attempts = new Map<string, AttemptInfo>();

  constructor(
    private readonly ctx: Context,
    private readonly maxBytes: number,
  ) {
    this.changed.setMaxListeners(0);
  }

  private async attempt(attemptId: string): Promise<AttemptInfo | undefined> {
    let info = this.attempts.get(attemptId);
    if (info) return info;
    const row = await getAttemptRow(this.ctx.store.db, attemptId);
    if (!row) return undefined;
    info = { taskId: row.task_id, number: row.number, nodeId: row.node_id, bytes: Number(row.output_bytes), truncated: Boolean(row.output_truncated) };
    // A small cache: attempts stream for a while, then end.
    if (this.attempts.size > 10_000) this.attempts.clear();
    this.attempts.set(attemptId, info);
    return info;
  }

  async output(nodeId: string, d: TaskOutputEventData): Promise<void> {
    const info = await this.attempt(d.attemptId);
    // A node writes only its own attempts' output.
    if (!info || info.nodeId !== nodeId || info.taskId !== d.taskId) return;
    const size = Buffer.byteLength(d.data);
    if (info.bytes + size > this.maxBytes) {
      if (!info.truncated) {
        info.truncated = true;
        await this.ctx.store.batch((db) => addOutputBytes(db, d.attemptId, 0, true));
      }
      return;
    }
    info.bytes += size;
    const row: TaskOutputTable = { attempt_id: d.attemptId, seq: d.seq, task_id: d.taskId, number: info.number, stream: d.stream, data: d.data, at: d.at };
    await this.ctx.store.batch(async (db) => {
      await insertOutput(db, [row]);
      await addOutputBytes(db, d.attemptId, size, false);
    });
    this.changed.emit('change', d.taskId);
  }

  async progress(nodeId: string, d: TaskProgressEventData): Promise<void> {
    const info = await this.attempt(d.attemptId);
    if (!info || info.nodeId !== nodeId || info.taskId !== d.taskId) return;
    await this.ctx.store.batch((db) => setAttemptProgress(db, d.attemptId, d.taskId, d.percent));
    const task = await getTaskRow(this.ctx.store.db, d.taskId);
    if (task && task.current_attempt_id === d.attemptId) publishTaskState(this.ctx, task);
    this.changed.emit('change', d.taskId);
  }
}
