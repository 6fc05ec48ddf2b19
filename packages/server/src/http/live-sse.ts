import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { StreamSlots } from '../core/stream-slots.js';
import { boundedSse, openSse } from './sse.js';

const PING_MS = 15_000;
/** Unsent bytes past which a step waits for the client before reading more. */
const HIGH_WATER = 256 * 1024;

/** What a live stream's `step` may do. */
export interface LiveSse {
  /** Writes one event (`id` for resumable streams: a reconnect sends it back as Last-Event-ID). */
  send(event: string, data: unknown, id?: number | string): void;
  /**
   * Resolves once the client has taken what was written (or the stream ended): a step that
   * reads from the store waits on it between pages, so a slow reader slows the reading down
   * instead of piling the data up in memory.
   */
  drained(): Promise<void>;
  /** Ends the stream (after the last event). */
  end(): void;
  readonly closed: boolean;
}

export interface LiveSseOptions {
  slots: StreamSlots;
  maxBuffered: number;
  log: Logger;
  /** Names the stream in logs. */
  what: Record<string, unknown>;
  /** Readers on other replicas than the one storing notice new data by polling this often. */
  pollMs: number;
  /**
   * Sends what is new since the last call, and ends the stream when there is no more to come.
   * Never runs twice at once: a wake-up during a step runs the step again after it.
   */
  step(stream: LiveSse): Promise<void>;
  /** Open streams, so the feature can end them all when the server stops. */
  open: Set<() => void>;
  /**
   * Hooks up wake-ups (a local notifier, the event bus); returns what unhooks them. `now(fn)`
   * runs `fn` on the stream at once when no step is running and answers whether it ran: a
   * notifier that carries what was just stored sends it without a read (the step would read
   * it back), which keeps a first output byte off the store's and the event loop's queues.
   */
  subscribe(wake: () => void, now: (fn: (stream: LiveSse) => void) => boolean): () => void;
}

/**
 * A long-lived Server-Sent Events stream fed by a repeated `step`: counted against the token's
 * stream slots, dropped when its client reads too slowly, kept alive by pings, woken by local
 * notifications and a poll, and cleaned up however it ends. Resolves once the first step ran.
 */
export async function runLiveSse(req: FastifyRequest, reply: FastifyReply, o: LiveSseOptions): Promise<void> {
  const release = o.slots.take(req.apiTokenId ?? '');
  const res = openSse(reply);
  const write = boundedSse(res, o.maxBuffered, () => {
    o.log.warn({ ...o.what, tokenId: req.apiTokenId }, 'dropped an output stream whose client read too slowly');
    stream.end();
  });
  let busy = false;
  let again = false;
  let unsubscribe = () => {};
  const stream = {
    closed: false,
    send(event: string, data: unknown, id?: number | string) {
      write(`event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`);
    },
    async drained() {
      while (!stream.closed && !res.writableEnded && res.writableLength > HIGH_WATER) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.once('drain', done);
          res.once('close', done);
        });
      }
    },
    end() {
      if (stream.closed) return;
      stream.closed = true;
      clearInterval(poll);
      clearInterval(ping);
      unsubscribe();
      o.open.delete(stream.end);
      release();
      if (!res.writableEnded) res.end();
    },
  };
  const pump = async (): Promise<void> => {
    if (stream.closed) return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        await o.step(stream);
      } while (again && !stream.closed);
    } catch (err) {
      o.log.warn({ err, ...o.what }, 'output stream failed');
      stream.end();
    } finally {
      busy = false;
    }
  };
  const poll = setInterval(() => void pump(), o.pollMs);
  const ping = setInterval(() => write(': ping\n\n'), PING_MS);
  const now = (fn: (s: LiveSse) => void): boolean => {
    if (busy || stream.closed) return false;
    fn(stream);
    return true;
  };
  unsubscribe = o.subscribe(() => void pump(), now);
  o.open.add(stream.end);
  req.raw.on('close', () => stream.end());
  // Sent at once so the client has the headers and has read a first chunk before any data
  // comes: its first event then goes down a path already taken (measured: ~4 ms off the first byte).
  write(': open\n\n');
  await pump();
}
