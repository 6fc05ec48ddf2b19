import type { Command } from './types.js';
import { readSse } from './sse-fetch.js';

/** One stored chunk of a command's output (`stream` is stdout, stderr, pty or resize). */
export interface OutputChunk {
  seq: number;
  stream: string;
  data: string;
  at: number;
}

export interface CommandOutputHandlers {
  output(chunk: OutputChunk): void;
  /** The control plane stopped storing output past its cap. */
  truncated?(bytes: number): void;
  /** The command ended; every stored chunk was sent before. */
  end(command: Command): void;
  /** The stream broke for good (a refusal: 403, 404); breaks of the connection are retried. */
  error(err: Error): void;
}

const RETRY_MS = 1000;

/**
 * Follows `GET /api/v1/commands/:id/output` (SSE): stored output, then live, until the command
 * ends. A broken connection is opened again after the last chunk seen (`after`), so nothing is
 * lost or shown twice. Returns a function that closes it.
 */
export function followCommandOutput(token: string, commandId: string, h: CommandOutputHandlers): () => void {
  const controller = new AbortController();
  let last = -1;
  let ended = false;
  const open = () => {
    const url = `/api/v1/commands/${encodeURIComponent(commandId)}/output${last >= 0 ? `?after=${last}` : ''}`;
    readSse(token, url, controller.signal, (m, data) => {
      if (m.event === 'output') {
        const c = data as OutputChunk;
        if (c.seq <= last) return;
        last = c.seq;
        h.output(c);
      } else if (m.event === 'truncated') h.truncated?.((data as { bytes: number }).bytes);
      else if (m.event === 'end') {
        ended = true;
        h.end(data as Command);
      }
    }).then(
      () => {
        if (!ended && !controller.signal.aborted) setTimeout(open, RETRY_MS);
      },
      (err: Error & { status?: number }) => {
        if (controller.signal.aborted) return;
        if (err.status && err.status < 500 && err.status !== 429) h.error(err);
        else setTimeout(open, RETRY_MS);
      },
    );
  };
  open();
  return () => controller.abort();
}
