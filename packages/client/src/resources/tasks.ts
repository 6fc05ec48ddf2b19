import type { SchedulerState, Task, TaskCreate, TaskDetail, TaskListQuery, TaskOutputChunk, TaskState } from '@steward/protocol';
import { enc, parseJson } from '../transport.js';
import { Resource, type List, type WaitOptions } from './resource.js';

export interface TaskSubmitResult {
  task: Task;
  /** False when the server returned an earlier task for the same `requestId`. */
  created: boolean;
}

/** The task's state as the output stream reports it. */
export interface TaskStreamState {
  state: TaskState;
  attempt: number;
  nodeId: string | null;
  progress: number | null;
  exitCode: number | null;
  reason: string | null;
}

/** One event of `GET /api/v1/tasks/:id/output`. */
export type TaskOutputEvent =
  | { kind: 'output'; chunk: TaskOutputChunk }
  | { kind: 'state'; state: TaskStreamState }
  | { kind: 'end'; state: TaskStreamState };

/** Tasks and the scheduler that places them. */
export class TasksApi extends Resource {
  async submitTask(body: TaskCreate): Promise<TaskSubmitResult> {
    const res = await this.http.request<Task>('POST', '/tasks', { body });
    return { task: res.body, created: res.status === 201 };
  }

  async listTasks(query: TaskListQuery = {}): Promise<List<Task>> {
    return this.http.json<List<Task>>('GET', '/tasks', { query: { ...query } });
  }

  async getTask(id: string, opts: WaitOptions = {}): Promise<TaskDetail> {
    return this.http.json<TaskDetail>('GET', `/tasks/${enc(id)}`, { query: { wait: opts.wait }, signal: opts.signal });
  }

  async cancelTask(id: string): Promise<TaskDetail> {
    return this.http.json<TaskDetail>('POST', `/tasks/${enc(id)}/cancel`);
  }

  async schedulerState(): Promise<SchedulerState> {
    return this.http.json<SchedulerState>('GET', '/scheduler');
  }

  async setSchedulerPaused(paused: boolean): Promise<SchedulerState> {
    return this.http.json<SchedulerState>('PATCH', '/scheduler', { body: { paused } });
  }

  /**
   * A task's output: what is stored so far, then live until the task ends (`follow`, the
   * default), with `state` events on the way and one `end` event last.
   */
  async *taskOutput(id: string, opts: { follow?: boolean; signal?: AbortSignal } = {}): AsyncGenerator<TaskOutputEvent> {
    const stream = await this.http.openSse(`/api/v1/tasks/${enc(id)}/output`, {
      query: { follow: opts.follow === false ? 'false' : undefined },
      signal: opts.signal,
    });
    try {
      for await (const msg of stream.messages) {
        const data = parseJson(msg.data);
        if (msg.event === 'output') yield { kind: 'output', chunk: data as TaskOutputChunk };
        else if (msg.event === 'state') yield { kind: 'state', state: data as TaskStreamState };
        else if (msg.event === 'end') {
          yield { kind: 'end', state: data as TaskStreamState };
          return;
        }
      }
    } finally {
      stream.close();
    }
  }
}
