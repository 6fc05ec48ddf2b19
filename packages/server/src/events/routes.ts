import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@steward/protocol';
import type { EventBus, SequencedEvent } from '../core/bus.js';
import type { StreamSlots } from '../core/stream-slots.js';
import { boundedSse, openSse } from '../http/sse.js';

const EventsQuery = Type.Object({
  kinds: Type.Optional(Type.String({ maxLength: 500, description: 'comma-separated event kinds' })),
  lastEventId: Type.Optional(Type.String({ maxLength: 100 })),
  recent: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, description: 'on a fresh connection (no Last-Event-ID), first replay up to this many recent events' })),
});

const PING_MS = 15_000;

/**
 * Live events as Server-Sent Events; `Last-Event-ID` replays what a reconnecting client missed.
 * Ids are `<boot>-<seq>`: after a control-plane restart the sequence starts over, and a client
 * whose last id is from another boot gets everything this process still has.
 */
export function eventRoutes(
  app: FastifyInstance,
  bus: EventBus,
  streams: Set<() => void>,
  slots: StreamSlots,
  sseBufferBytes: number,
  onDropped: () => void = () => {},
): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const boot = Date.now().toString(36);
  const resumeAfter = (lastId: string | undefined): number | null => {
    if (!lastId) return null;
    const [b, seq] = lastId.split('-');
    return b === boot && /^\d+$/.test(seq ?? '') ? Number(seq) : 0;
  };
  r.get('/api/v1/events', { schema: { tags: ['events'], querystring: EventsQuery } }, (req, reply) => {
    const kinds = req.query.kinds ? new Set(req.query.kinds.split(',').map((k) => k.trim())) : null;
    const header = req.headers['last-event-id'];
    const last = resumeAfter(typeof header === 'string' ? header : req.query.lastEventId);
    const token = req.apiTokenId ?? '';
    const release = slots.take(token);
    const res = openSse(reply);
    let ended = false;
    let ping: NodeJS.Timeout | undefined;
    let unsubscribe = () => {};
    const end = () => {
      if (ended) return;
      ended = true;
      release();
      clearInterval(ping);
      unsubscribe();
      streams.delete(end);
      if (!res.writableEnded) res.end();
    };
    const send = boundedSse(res, sseBufferBytes, () => {
      req.log.warn({ tokenId: token }, 'dropped an event stream whose client read too slowly');
      onDropped();
      end();
    });
    send('retry: 2000\n\n');
    const write = ({ seq, event }: SequencedEvent) => {
      if (kinds && !kinds.has(event.kind)) return;
      send(`id: ${boot}-${seq}\nevent: ${event.kind}\ndata: ${JSON.stringify(event)}\n\n`);
    };
    if (last !== null) for (const e of bus.since(last)) write(e);
    else if (req.query.recent) for (const e of bus.since(Math.max(0, bus.lastSeq - req.query.recent))) write(e);
    if (ended) return;
    unsubscribe = bus.subscribe(write);
    ping = setInterval(() => send(': ping\n\n'), PING_MS);
    streams.add(end);
    req.raw.on('close', end);
  });
}
