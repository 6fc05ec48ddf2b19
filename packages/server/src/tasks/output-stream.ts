import type { FastifyReply, FastifyRequest } from 'fastify';
import { isTerminalTaskState, NotFoundError, type TaskOutputChunk, type TaskState } from '@steward/protocol';
import type { Context } from '../core/context.js';
import type { TaskOutputTable } from '../store/schema.js';
import { commandOutputOfTaskAfter, outputAfter } from '../store/queries/task-output.js';
import { getTaskRow } from '../store/queries/tasks.js';
import type { OutputRecorder } from './output.js';
import { runLiveSse } from '../http/live-sse.js';
import type { StreamSlots } from '../core/stream-slots.js';

const PAGE = 1000;
/** Readers on another replica than the one storing the output notice new chunks by polling. */
const POLL_MS = 250;
/** After the task ended, chunks sent just before its result may still be on their way. */
const SETTLE_MS = 300;

/**
 * A page of a task's output in (attempt, seq) order. Agents stream an attempt's output as its
 * command's output (durable across reconnects); older agents sent module events, stored in
 * `task_output`. One attempt has one or the other, so the two sorted pages merge.
 */
async function taskOutputAfter(ctx: Context, id: string, after: { number: number; seq: number }): Promise<TaskOutputTable[]> {
  const [events, streamed] = await Promise.all([outputAfter(ctx.store.db, id, after, PAGE), commandOutputOfTaskAfter(ctx.store.db, id, after, PAGE)]);
  if (streamed.length === 0) return events;
  if (events.length === 0) return streamed;
  return [...events, ...streamed].sort((a, b) => a.number - b.number || a.seq - b.seq).slice(0, PAGE);
}

/**
 * `GET /api/v1/tasks/:id/output` as Server-Sent Events: `output` events (what is stored so far,
 * then live), `state` events when the task's state or progress changes, and a final `end`
 * event once the task has ended and all its output was sent (or at once with `follow=false`).
 */
export async function streamOutput(
  ctx: Context,
  recorder: OutputRecorder,
  streams: Set<() => void>,
  slots: StreamSlots,
  id: string,
  follow: boolean,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const first = await getTaskRow(ctx.store.db, id);
  if (!first) throw new NotFoundError('task', id);
  let after = { number: 0, seq: -1 };
  let lastState = '';
  let endingSince: number | null = null;
  // Counted with the token's event streams, and dropped like them when its client stops reading.
  await runLiveSse(req, reply, {
    slots,
    maxBuffered: ctx.settings.limits.sseBufferBytes,
    log: ctx.log,
    what: { taskId: id },
    pollMs: POLL_MS,
    open: streams,
    subscribe: (wake) => {
      const onChange = (taskId: string) => taskId === id && wake();
      recorder.changed.on('change', onChange);
      const unsubscribe = ctx.bus.subscribe(({ event }) => {
        if (event.kind === 'task.state' && event.taskId === id) wake();
      });
      return () => {
        recorder.changed.off('change', onChange);
        unsubscribe();
      };
    },
    step: async (s) => {
      for (;;) {
        const chunks = await taskOutputAfter(ctx, id, after);
        for (const c of chunks) {
          const chunk: TaskOutputChunk = { attempt: c.number, seq: c.seq, stream: c.stream as TaskOutputChunk['stream'], data: c.data, at: c.at };
          s.send('output', chunk);
          after = { number: c.number, seq: c.seq };
        }
        if (chunks.length < PAGE || s.closed) break;
      }
      if (s.closed) return;
      const t = await getTaskRow(ctx.store.db, id);
      if (!t) return s.end();
      const state = { state: t.state as TaskState, attempt: t.attempts, nodeId: t.node_id, progress: t.progress, exitCode: t.exit_code, reason: t.reason };
      const key = JSON.stringify(state);
      if (key !== lastState) {
        lastState = key;
        s.send('state', state);
      }
      if (!follow || isTerminalTaskState(t.state as TaskState)) {
        const now = Date.now();
        endingSince ??= now;
        if (!follow || now - endingSince >= SETTLE_MS) {
          s.send('end', state);
          s.end();
        }
      }
    },
  });
}
