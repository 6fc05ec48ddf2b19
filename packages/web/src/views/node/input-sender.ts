/** Longest input one POST carries (the API's bound); a paste is split. */
const MAX_INPUT = 64 * 1024;
/**
 * The first output can arrive a moment before the control plane stored the session as running;
 * input refused as `session_not_running` then is tried again for this long.
 */
const NOT_RUNNING_RETRIES = 20;
const RETRY_MS = 250;

/**
 * Sends keystrokes in order: one POST in flight at a time, what is typed meanwhile goes as one
 * batch in the next, each with the next `seq` (the agent applies them in seq order and ignores
 * a repeat). Nothing is sent until `start()` (the session must be running first).
 */
export class InputSender {
  private queue = '';
  private seq = 0;
  private busy = false;
  private started = false;
  private stopped = false;

  constructor(
    private readonly post: (seq: number, data: string) => Promise<void>,
    private readonly onError: (err: Error) => void,
  ) {}

  push(data: string): void {
    if (this.stopped) return;
    this.queue += data;
    void this.pump();
  }

  start(): void {
    this.started = true;
    void this.pump();
  }

  stop(): void {
    this.stopped = true;
    this.queue = '';
  }

  private async pump(): Promise<void> {
    if (this.busy || !this.started) return;
    this.busy = true;
    try {
      while (this.queue && !this.stopped) {
        const data = this.queue.slice(0, MAX_INPUT);
        this.queue = this.queue.slice(data.length);
        const seq = this.seq++;
        for (let attempt = 0; !this.stopped; attempt++) {
          try {
            await this.post(seq, data);
            break;
          } catch (err) {
            if ((err as { code?: string }).code === 'session_not_running' && attempt < NOT_RUNNING_RETRIES) {
              await new Promise((r) => setTimeout(r, RETRY_MS));
              continue;
            }
            this.stop();
            this.onError(err as Error);
          }
        }
      }
    } finally {
      this.busy = false;
    }
  }
}
