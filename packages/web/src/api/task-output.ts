import type { TaskOutputChunk } from './types.js';
import { readSse } from './sse-fetch.js';

export interface TaskStreamState {
  state: string;
  attempt: number;
  nodeId: string | null;
  progress: number | null;
  exitCode: number | null;
  reason: string | null;
}

export interface TaskOutputHandlers {
  output(chunk: TaskOutputChunk): void;
  state(s: TaskStreamState): void;
  /** The task ended and all its output was sent. */
  end(s: TaskStreamState): void;
  /** The stream broke before `end` (network, restart); the caller may open it again. */
  error(err: Error): void;
}

/**
 * Reads `GET /api/v1/tasks/:id/output` (SSE). The stream replays the stored output first, then
 * follows. Returns a function that closes it.
 */
export function streamTaskOutput(token: string, taskId: string, h: TaskOutputHandlers): () => void {
  const controller = new AbortController();
  let ended = false;
  readSse(token, `/api/v1/tasks/${encodeURIComponent(taskId)}/output`, controller.signal, (m, data) => {
    if (m.event === 'output') h.output(data as TaskOutputChunk);
    else if (m.event === 'state') h.state(data as TaskStreamState);
    else if (m.event === 'end') {
      ended = true;
      h.end(data as TaskStreamState);
    }
  }).then(
    () => {
      if (!ended) h.error(new Error('the output stream closed before the task ended'));
    },
    (err: Error) => {
      if (!controller.signal.aborted) h.error(err);
    },
  );
  return () => controller.abort();
}
