/**
 * The one-line count of nodes done (`37/50 done, 2 failed`) that `steward run` keeps at the
 * bottom of a terminal on stderr. Whoever prints a normal line clears it first and draws it
 * again after, so it never mixes with output; off (draws nothing) when stderr is not a terminal.
 */
export class LiveSummary {
  private done = 0;
  private failed = 0;
  private drawn = false;

  constructor(
    private readonly total: number,
    private readonly write: (text: string) => void,
    private readonly on: boolean,
  ) {}

  /** Counts one node's end; `ok` when it succeeded. */
  ended(ok: boolean): void {
    this.done++;
    if (!ok) this.failed++;
  }

  text(): string {
    return `${this.done}/${this.total} done${this.failed ? `, ${this.failed} failed` : ''}`;
  }

  draw(): void {
    if (!this.on) return;
    this.write(`\r\u001b[K${this.text()}`);
    this.drawn = true;
  }

  clear(): void {
    if (!this.drawn) return;
    this.write('\r\u001b[K');
    this.drawn = false;
  }
}
