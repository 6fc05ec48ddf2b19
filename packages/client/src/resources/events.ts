import type { StewardEvent, StewardEventKind } from '@steward/protocol';
import { parseJson } from '../transport.js';
import { Resource } from './resource.js';

export interface EventsOptions {
  kinds?: readonly StewardEventKind[] | readonly string[];
  /** Resume after this event id (sent as `Last-Event-ID`). */
  lastEventId?: string;
  signal?: AbortSignal;
}

export interface ReceivedEvent {
  id: string;
  event: StewardEvent;
}

/** An open event stream: iterate it, and `close()` it when done. */
export interface EventStream extends AsyncIterable<ReceivedEvent> {
  close(): void;
}

/** The live event stream (`GET /api/v1/events`). */
export class EventsApi extends Resource {
  /**
   * Opens the SSE stream and resolves once the server has answered, so a caller can
   * subscribe first and then cause the events it wants to see.
   */
  async openEvents(opts: EventsOptions = {}): Promise<EventStream> {
    const stream = await this.http.openSse('/api/v1/events', {
      query: { kinds: opts.kinds?.length ? opts.kinds.join(',') : undefined },
      headers: opts.lastEventId ? { 'last-event-id': opts.lastEventId } : {},
      signal: opts.signal,
    });
    async function* iterate(): AsyncGenerator<ReceivedEvent> {
      for await (const msg of stream.messages) {
        const event = parseJson(msg.data) as StewardEvent | undefined;
        if (!event || typeof event !== 'object') continue;
        if (typeof event.kind !== 'string') (event as { kind: string }).kind = msg.event;
        yield { id: msg.id, event };
      }
    }
    const gen = iterate();
    return {
      [Symbol.asyncIterator]: () => gen,
      close: () => stream.close(),
    };
  }

  /** Follows the event stream until it ends or `signal` aborts. */
  async *events(opts: EventsOptions = {}): AsyncGenerator<ReceivedEvent> {
    const stream = await this.openEvents(opts);
    try {
      yield* stream;
    } finally {
      stream.close();
    }
  }
}
