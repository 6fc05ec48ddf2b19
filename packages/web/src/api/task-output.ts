import { SseParser, type SseMessage } from '@steward/client/browser';
import type { TaskOutputChunk } from './types.js';

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
 * Reads `GET /api/v1/tasks/:id/output` (SSE) with fetch, as `EventSource` cannot send the
 * Authorization header (the token must not go into a URL). The stream replays the stored output
 * first, then follows. Returns a function that closes it.
 */
export function streamTaskOutput(token: string, taskId: string, h: TaskOutputHandlers): () => void {
  const controller = new AbortController();
  let ended = false;
  void (async () => {
    try {
      const res = await fetch(`/api/v1/tasks/${encodeURIComponent(taskId)}/output`, {
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
        signal: controller.signal,
        cache: 'no-store',
      });
      if (!res.ok || !res.body) throw new Error(`output stream answered ${res.status}`);
      const onMessage = (m: SseMessage) => {
        let data: unknown;
        try {
          data = JSON.parse(m.data);
        } catch {
          return;
        }
        if (m.event === 'output') h.output(data as TaskOutputChunk);
        else if (m.event === 'state') h.state(data as TaskStreamState);
        else if (m.event === 'end') {
          ended = true;
          h.end(data as TaskStreamState);
        }
      };
      const parser = new SseParser();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        for (const m of parser.push(value)) onMessage(m);
      }
      if (!ended) h.error(new Error('the output stream closed before the task ended'));
    } catch (err) {
      if (!controller.signal.aborted) h.error(err as Error);
    }
  })();
  return () => controller.abort();
}
