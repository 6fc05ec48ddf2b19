import type { FastifyReply } from 'fastify';
import type { ServerResponse } from 'node:http';

/**
 * Takes the response over from Fastify and starts a Server-Sent Events stream: no caching, no
 * proxy buffering (nginx honours `x-accel-buffering`), kept alive. The caller writes the events.
 */
export function openSse(reply: FastifyReply): ServerResponse {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  return res;
}

/** The last event of a stream the server dropped; the client may reconnect (with Last-Event-ID) and read faster. */
export const SSE_DROPPED_EVENT = 'stream.dropped';

/** After a drop, how long the client gets to read what is queued (and the drop event) before the socket is cut. */
const DROP_GRACE_MS = 10_000;

/**
 * Writes to an SSE stream while the client keeps up. Once more than `maxBuffered` bytes wait
 * unsent (a client that stopped reading), the stream gets one `stream.dropped` event saying
 * why and ends, instead of the server buffering without bound; `onDropped` runs once.
 */
export function boundedSse(res: ServerResponse, maxBuffered: number, onDropped: () => void): (text: string) => void {
  let dropped = false;
  return (text) => {
    if (dropped || res.writableEnded) return;
    if (res.writableLength <= maxBuffered) {
      res.write(text);
      return;
    }
    dropped = true;
    const reason = { reason: 'slow_reader', message: `the client read too slowly (over ${maxBuffered} bytes waited unsent); reconnect with Last-Event-ID` };
    res.end(`event: ${SSE_DROPPED_EVENT}\ndata: ${JSON.stringify(reason)}\n\n`);
    // Cut only if still unsent by then; a client that reads it all may keep its connection.
    const cut = setTimeout(() => res.destroy(), DROP_GRACE_MS).unref();
    res.once('finish', () => clearTimeout(cut));
    onDropped();
  };
}
