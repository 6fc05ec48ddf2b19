/**
 * Finds where one JSON object ends in bytes that arrive in pieces. Retire-Cluster sends one
 * object per connection with no delimiter and then waits for the reply on the same socket, so
 * the object's closing brace is the only end there is. Works on bytes: the structural
 * characters are ASCII, and no byte of a multi-byte UTF-8 character is ASCII.
 */
export class ObjectEnd {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private started = false;
  /** Bytes looked at so far. */
  scanned = 0;

  /**
   * Looks at the next piece. Returns the index in `chunk` just past the object's closing brace,
   * `-1` while the object is still open, or `'not_object'` when the first non-blank byte is not `{`.
   */
  feed(chunk: Uint8Array): number | 'not_object' {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      this.scanned++;
      if (!this.started) {
        if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
        if (b !== 0x7b) return 'not_object';
        this.started = true;
        this.depth = 1;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === 0x5c) this.escaped = true;
        else if (b === 0x22) this.inString = false;
        continue;
      }
      if (b === 0x22) this.inString = true;
      else if (b === 0x7b || b === 0x5b) this.depth++;
      else if (b === 0x7d || b === 0x5d) {
        this.depth--;
        if (this.depth === 0) return i + 1;
      }
    }
    return -1;
  }
}
