import type { StewardEvent } from '@steward/protocol';
import type { Relay } from '../cluster/relay.js';

export interface SequencedEvent {
  seq: number;
  event: StewardEvent;
}

type Listener = (e: SequencedEvent) => void;

/**
 * In-process fan-out of live events with a ring buffer, so an SSE client that reconnects with
 * `Last-Event-ID` gets what it missed while it was away (up to `capacity` events).
 */
export class EventBus {
  private seq = 0;
  /** Circular buffer: `ring[seq % capacity]`. */
  private readonly ring: (SequencedEvent | undefined)[];
  private readonly listeners = new Set<Listener>();
  private readonly originListeners = new Set<(e: StewardEvent) => void>();
  relay: Relay | null = null;

  constructor(private readonly capacity = 10_000) {
    this.ring = new Array(capacity);
  }

  /** Publishes here and to the other replicas. */
  publish(event: StewardEvent): void {
    this.publishLocal(event);
    this.relay?.publish({ kind: 'event', event });
    for (const l of this.originListeners) {
      try {
        l(event);
      } catch {
        // as in publishLocal
      }
    }
  }

  publishLocal(event: StewardEvent): void {
    const item = { seq: ++this.seq, event };
    this.ring[item.seq % this.capacity] = item;
    for (const l of this.listeners) {
      try {
        l(item);
      } catch {
        // A failing subscriber must not stop the others from hearing the event.
      }
    }
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Events this replica published itself (not those relayed from other replicas): for work that
   * must happen once per event across replicas, e.g. raising an alert for a failed command.
   */
  subscribeOriginated(listener: (e: StewardEvent) => void): () => void {
    this.originListeners.add(listener);
    return () => this.originListeners.delete(listener);
  }

  /** Events after `seq` still in the buffer. */
  since(seq: number): SequencedEvent[] {
    const out: SequencedEvent[] = [];
    for (let s = Math.max(seq + 1, this.seq - this.capacity + 1); s <= this.seq; s++) {
      const e = this.ring[s % this.capacity];
      if (e?.seq === s) out.push(e);
    }
    return out;
  }

  get lastSeq(): number {
    return this.seq;
  }
}
