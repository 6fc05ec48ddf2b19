import { SseParser, type SseMessage } from '@steward/client/browser';
import type { StewardEvent } from './types.js';

export type StreamState = 'connecting' | 'live' | 'reconnecting';

type Listener = (e: StewardEvent) => void;

/** No byte for this long (the server pings every 15 s) means the connection is dead. */
const SILENCE_MS = 40_000;
const MAX_BACKOFF_MS = 5_000;
const RECENT = 100;

/**
 * The one subscription to `GET /api/v1/events` for the whole page. It reads the stream with
 * fetch, not EventSource, so the token travels in the Authorization header (never in a URL,
 * where it would land in proxy logs and history). Reconnects by itself with backoff, resuming
 * with Last-Event-ID; after each reconnect `onResync` listeners refetch what they show, since
 * events from before a control-plane restart are gone.
 */
export class EventStream {
  private readonly listeners = new Set<Listener>();
  private readonly stateListeners = new Set<(s: StreamState) => void>();
  private readonly resyncListeners = new Set<() => void>();
  private controller: AbortController | null = null;
  private lastEventId: string | undefined;
  private stopped = true;
  private hadConnection = false;
  state: StreamState = 'connecting';
  /** The latest events received (newest first), for the overview. */
  readonly recent: StewardEvent[] = [];

  constructor(
    private readonly token: string,
    private readonly onUnauthorized: () => void,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onState(listener: (s: StreamState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  private setState(s: StreamState): void {
    if (this.state === s) return;
    this.state = s;
    for (const l of this.stateListeners) l(s);
  }

  private async loop(): Promise<void> {
    let backoff = 250;
    while (!this.stopped) {
      const ok = await this.connectOnce();
      if (this.stopped) return;
      if (ok) backoff = 250;
      this.setState('reconnecting');
      await new Promise((r) => setTimeout(r, backoff * (0.5 + Math.random() / 2)));
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  /** One connection; resolves when it ends. True when it was established. */
  private async connectOnce(): Promise<boolean> {
    const controller = new AbortController();
    this.controller = controller;
    let silence: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(silence);
      silence = setTimeout(() => controller.abort(), SILENCE_MS);
    };
    try {
      // The first connection asks for a few recent events so the overview is not empty on open.
      const res = await fetch(this.lastEventId ? '/api/v1/events' : `/api/v1/events?recent=${RECENT}`, {
        headers: {
          authorization: `Bearer ${this.token}`,
          accept: 'text/event-stream',
          ...(this.lastEventId ? { 'last-event-id': this.lastEventId } : {}),
        },
        signal: controller.signal,
        cache: 'no-store',
      });
      if (res.status === 401) {
        this.stopped = true;
        this.onUnauthorized();
        return false;
      }
      if (!res.ok || !res.body) return false;
      this.setState('live');
      if (this.hadConnection) for (const l of this.resyncListeners) l();
      this.hadConnection = true;
      arm();
      const onMessage = (m: SseMessage) => {
        // The server's last word before it drops a stream we read too slowly: the loop reconnects.
        if (m.event === 'stream.dropped') return;
        if (m.id) this.lastEventId = m.id;
        let event: StewardEvent;
        try {
          event = JSON.parse(m.data) as StewardEvent;
        } catch {
          return;
        }
        // Progress comes several times a second per running command: it would push out the rest.
        if (event.kind !== 'command.progress') {
          this.recent.unshift(event);
          if (this.recent.length > RECENT) this.recent.length = RECENT;
        }
        for (const l of this.listeners) {
          try {
            l(event);
          } catch (err) {
            console.error('event listener failed', err);
          }
        }
      };
      const parser = new SseParser();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        arm();
        for (const m of parser.push(value)) onMessage(m);
      }
      return true;
    } catch {
      return this.state === 'live';
    } finally {
      clearTimeout(silence);
    }
  }
}
