/**
 * Splits streamed text into whole lines, one buffer per key (a node's stdout, its stderr):
 * a chunk may end mid-line, and that partial line is held until its newline arrives or the
 * caller takes it with `rest` (when the command has ended).
 */
export class LineBuffer {
  private readonly partial = new Map<string, string>();

  /** The lines `data` completes for `key`, without their newlines. */
  push(key: string, data: string): string[] {
    const text = (this.partial.get(key) ?? '') + data;
    const lines = text.split('\n');
    const last = lines.pop()!;
    if (last === '') this.partial.delete(key);
    else this.partial.set(key, last);
    return lines;
  }

  /** The partial line held for `key`, if any, which is then forgotten. */
  rest(key: string): string | undefined {
    const held = this.partial.get(key);
    this.partial.delete(key);
    return held;
  }

  /** Keys that still hold a partial line. */
  keys(): string[] {
    return [...this.partial.keys()];
  }
}
