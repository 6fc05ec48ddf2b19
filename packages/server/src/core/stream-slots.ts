import { TooManyRequestsError } from '@steward/protocol';

/**
 * How many long-lived streams (SSE: events, task output) each operator token holds open on this
 * replica. One count for every kind of stream, so a token cannot get around the limit by
 * opening a different kind.
 */
export class StreamSlots {
  private readonly open = new Map<string, number>();

  constructor(private readonly perToken: number) {}

  /** Takes a slot for `token` or refuses with 429; the returned release is safe to call twice. */
  take(token: string): () => void {
    const open = this.open.get(token) ?? 0;
    if (open >= this.perToken) {
      throw new TooManyRequestsError('too_many_streams', `this token already holds ${open} streams (the limit); close one first`, 5, { limit: this.perToken });
    }
    this.open.set(token, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(token) ?? 1) - 1;
      if (left > 0) this.open.set(token, left);
      else this.open.delete(token);
    };
  }
}
