import { ApiError } from '@steward/client';

/** One input request carries at most this many characters: small enough for the replica relay. */
export const MAX_INPUT_CHARS = 2048;
/** Tries of one input request (network trouble, a session that is just starting) before giving up. */
const TRIES = 6;

/** Where at most `max` characters of `text` end without splitting a surrogate pair. */
export function cutAt(text: string, max: number): number {
  if (text.length <= max) return text.length;
  const code = text.charCodeAt(max - 1);
  return code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
}

/** Worth sending again with the same seq (the agent ignores a seq it already applied). */
function retryable(e: unknown): boolean {
  if (!(e instanceof ApiError)) return true; // the request may not have arrived
  if (e.status === 409) {
    // Approved or dispatched, but the agent has not said it started yet.
    const state = (e.details as { state?: string } | undefined)?.state;
    return state === 'pending' || state === 'dispatched';
  }
  return e.status === 429 || e.status >= 500;
}

/**
 * Typed input to a session: one request in flight at a time, whatever was typed meanwhile goes in
 * the next one, each with the next seq. A failed request is sent again with the same seq, so
 * nothing is typed twice; a session that ended (409) stops it quietly (its output says why).
 */
export class InputPump {
  private pending = '';
  private seq = 0;
  private busy = false;
  private stopped = false;
  private started = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly send: (seq: number, data: string) => Promise<void>,
    private readonly onError: (e: unknown) => void,
    private readonly retryDelayMs = 100,
  ) {}

  /** Until started (the session runs), input is kept. */
  start(): void {
    this.started = true;
    void this.pump();
  }

  push(data: string): void {
    if (this.stopped || data === '') return;
    this.pending += data;
    void this.pump();
  }

  stop(): void {
    this.stopped = true;
    this.pending = '';
    this.settle();
  }

  /** Resolves once everything pushed so far was sent (or the pump stopped). */
  drained(): Promise<void> {
    if (this.stopped || (!this.busy && this.pending === '')) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private async pump(): Promise<void> {
    if (this.busy || !this.started) return;
    while (!this.stopped && this.pending !== '') {
      this.busy = true;
      const n = cutAt(this.pending, MAX_INPUT_CHARS);
      const part = this.pending.slice(0, n);
      this.pending = this.pending.slice(n);
      try {
        await this.sendOnce(this.seq, part);
        this.seq++;
      } catch (e) {
        this.stopped = true;
        this.pending = '';
        if (!(e instanceof ApiError && e.status === 409)) this.onError(e);
      } finally {
        this.busy = false;
      }
    }
    this.settle();
  }

  private async sendOnce(seq: number, data: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.send(seq, data);
      } catch (e) {
        if (attempt >= TRIES || !retryable(e)) throw e;
        await new Promise((r) => setTimeout(r, this.retryDelayMs * attempt));
      }
    }
  }

  private settle(): void {
    if (this.busy || (this.pending !== '' && !this.stopped)) return;
    for (const r of this.idle.splice(0)) r();
  }
}

/** Window sizes: only the latest matters, one request at a time. */
export class ResizePump {
  private next: { cols: number; rows: number } | null = null;
  private busy = false;

  constructor(private readonly send: (cols: number, rows: number) => Promise<void>) {}

  push(cols: number, rows: number): void {
    this.next = { cols, rows };
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    while (this.next) {
      const { cols, rows } = this.next;
      this.next = null;
      // A lost resize only leaves the old size until the next one; not worth failing the session.
      await this.send(cols, rows).catch(() => {});
    }
    this.busy = false;
  }
}

/** The terminal's end-of-input key (Ctrl-D). */
const EOF_KEY = '\x04';

/**
 * Piped input ran out: the remote terminal must see its end too. Ctrl-D ends input only at the
 * start of a line and only once someone reads it (a shell still starting drops it), so it is
 * sent when the input was all sent, then again each time the session's output has been quiet
 * for `quietMs`, until the session ends.
 */
export class PipedEof {
  private lastOutput = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly input: InputPump,
    private readonly quietMs = 500,
  ) {}

  /** The session printed something: it is busy, not waiting for input. */
  output(): void {
    this.lastOutput = Date.now();
  }

  /** Call once the local input ended. */
  ended(): void {
    void this.input.drained().then(() => {
      if (this.stopped) return;
      this.input.push(EOF_KEY);
      this.lastOutput = Date.now();
      this.timer = setInterval(() => {
        if (Date.now() - this.lastOutput < this.quietMs) return;
        this.input.push(EOF_KEY);
        this.lastOutput = Date.now();
      }, Math.max(10, this.quietMs / 2));
      this.timer.unref();
    });
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }
}
