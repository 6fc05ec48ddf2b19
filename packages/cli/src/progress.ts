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
    this.move(done, total);
    if (!this.on) return;
    const now = Date.now();
    if (now - this.drawnAt < EVERY_MS) return;
    this.drawnAt = now;
    this.out.write(`\r\u001b[K${this.line(now)}`);
  }

  /** Records how far it is without drawing (a ProgressBoard draws it with others). */
  move(done: number, total: number | null = this.total): void {
    this.done = done;
    this.total = total;
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

/**
 * Several bars, one line each (one per node), redrawn in place on stderr when it is a
 * terminal; otherwise nothing is drawn. A bar whose label changes (a new phase) starts afresh,
 * so its rate is that phase's own.
 */
export class ProgressBoard {
  private readonly rows = new Map<string, { label: string; bar: ProgressBar; note: string }>();
  private drawnLines = 0;
  private drawnAt = 0;
  private readonly on: boolean;

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {
    this.on = out.isTTY === true;
  }

  /** Moves the row `key`; `note` follows the bar (e.g. files done). */
  set(key: string, label: string, done: number, total: number | null, unit: 'bytes' | 'count' = 'bytes', note = ''): void {
    let row = this.rows.get(key);
    if (!row || row.label !== label) {
      row = { label, bar: new ProgressBar(label, total, unit, this.out), note };
      this.rows.set(key, row);
    }
    row.bar.move(done, total);
    row.note = note;
    if (!this.on) return;
    const now = Date.now();
    if (now - this.drawnAt < EVERY_MS) return;
    this.drawnAt = now;
    this.out.write(`${this.erase()}${this.lines(now).join('\n')}`);
    this.drawnLines = this.rows.size;
  }

  /** The lines as drawn (exported for tests). */
  lines(now = Date.now()): string[] {
    return [...this.rows.values()].map((r) => r.bar.line(now) + (r.note ? `  ${r.note}` : ''));
  }

  /** Removes the bars, so what is printed next starts on a clean line. */
  clear(): void {
    if (this.on && this.drawnLines) this.out.write(this.erase());
    this.drawnLines = 0;
    this.drawnAt = 0;
  }

  /** Back to the first drawn line, and everything from there down erased. */
  private erase(): string {
    return `\r${this.drawnLines > 1 ? `\u001b[${this.drawnLines - 1}A` : ''}\u001b[J`;
  }
}
