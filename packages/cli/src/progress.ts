import { Transform } from 'node:stream';
import { bytes } from './format.js';

/** Redraws at most this often; a terminal needs no more, and a fast transfer should not pay for it. */
const EVERY_MS = 100;
const WIDTH = 24;

/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal: piped or redirected
 * output gets nothing, so logs and scripts stay clean. `total` may be unknown (a counter then).
 */
export class ProgressBar {
  private done = 0;
  private drawnAt = 0;
  private readonly startedAt = Date.now();
  private readonly on: boolean;

  constructor(
    private readonly label: string,
    private total: number | null,
    private readonly unit: 'bytes' | 'count' = 'bytes',
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.on = out.isTTY === true;
  }

  add(n: number): void {
    this.set(this.done + n);
  }

  set(done: number, total: number | null = this.total): void {
    this.done = done;
    this.total = total;
    if (!this.on) return;
    const now = Date.now();
    if (now - this.drawnAt < EVERY_MS) return;
    this.drawnAt = now;
    this.out.write(`\r\u001b[K${this.line(now)}`);
  }

  /** A pass-through stream that moves the bar by the bytes going through it. */
  meter(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, done) => {
        this.add(chunk.length);
        done(null, chunk);
      },
    });
  }

  /** Removes the bar, so what is printed next starts on a clean line. */
  clear(): void {
    if (this.on && this.drawnAt) this.out.write('\r\u001b[K');
    this.drawnAt = 0;
  }

  /** The line as drawn (exported for tests). */
  line(now = Date.now()): string {
    const amount = (n: number) => (this.unit === 'bytes' ? bytes(n) : String(n));
    const secs = Math.max(0.001, (now - this.startedAt) / 1000);
    const rate = this.unit === 'bytes' ? `  ${bytes(Math.round(this.done / secs))}/s` : '';
    if (!this.total) return `${this.label} ${amount(this.done)}${rate}`;
    const frac = Math.min(1, this.done / this.total);
    const filled = Math.round(frac * WIDTH);
    return `${this.label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${Math.floor(frac * 100)}% ${amount(this.done)}/${amount(this.total)}${rate}`;
  }
}
