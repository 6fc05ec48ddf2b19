export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

/**
 * Incremental parser for the text/event-stream format (the parts the control plane sends:
 * id, event, data, comments, retry). Feed it decoded text; it calls `onMessage` per event.
 */
export class SseParser {
  private buffer = '';
  lastEventId: string | undefined;

  constructor(private readonly onMessage: (m: SseMessage) => void) {}

  feed(chunk: string): void {
    this.buffer += chunk;
    for (;;) {
      const end = this.buffer.search(/\r?\n\r?\n/);
      if (end < 0) return;
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end).replace(/^\r?\n\r?\n/, '');
      this.block(block);
    }
  }

  private block(block: string): void {
    let event = 'message';
    const data: string[] = [];
    let id: string | undefined;
    for (const line of block.split(/\r?\n/)) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
    }
    if (id !== undefined) this.lastEventId = id;
    if (data.length) this.onMessage({ id, event, data: data.join('\n') });
  }
}
