/**
 * The local terminal of `steward shell`: raw mode while a session runs (every key goes to the
 * node, Ctrl-C included), restored on every way out — a normal end, an error, a signal, exit.
 */
export class LocalTerminal {
  private raw = false;
  private readonly restoreOnExit = () => this.restore();

  constructor(
    private readonly stdin: NodeJS.ReadStream = process.stdin,
    private readonly stdout: NodeJS.WriteStream = process.stdout,
  ) {}

  /** Input and output are both a terminal: keys go raw, the size is known and followed. */
  get interactive(): boolean {
    return this.stdin.isTTY === true && this.stdout.isTTY === true;
  }

  size(): { cols: number; rows: number } {
    return { cols: this.stdout.columns || 80, rows: this.stdout.rows || 24 };
  }

  enterRaw(): void {
    if (!this.interactive || this.raw) return;
    process.on('exit', this.restoreOnExit);
    this.stdin.setRawMode(true);
    this.raw = true;
  }

  restore(): void {
    if (!this.raw) return;
    this.raw = false;
    process.off('exit', this.restoreOnExit);
    try {
      this.stdin.setRawMode(false);
    } catch {
      // the terminal is gone (hung up); nothing to restore
    }
  }

  /** Calls `onResize` with the new size on every SIGWINCH; returns the way to stop. */
  onResize(onResize: (size: { cols: number; rows: number }) => void): () => void {
    if (!this.interactive) return () => {};
    const handler = () => onResize(this.size());
    process.on('SIGWINCH', handler);
    return () => process.off('SIGWINCH', handler);
  }
}
