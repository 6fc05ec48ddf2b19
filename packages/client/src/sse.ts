/** One dispatched Server-Sent Event, as the WHATWG event-stream format defines it. */
export interface SseMessage {
  /** The last `id:` seen in the stream so far (ids carry over to later events). */
  id: string;
  event: string;
  data: string;
  /** `retry:` if this event carried one. */
  retry?: number;
}

/**
 * Incremental event-stream parser: feed it text in pieces of any size and it returns
 * the events completed so far. Pieces may split lines anywhere, including between the
 * CR and LF of a CRLF, which is why a trailing CR is held back until the next piece.
 */
export class SseParser {
  private buffer = '';
  private started = false;
  private lastId = '';
  private eventType = '';
  private data: string[] = [];
  private retry: number | undefined;

  push(text: string): SseMessage[] {
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.buffer += text;
    const out: SseMessage[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer[i];
      if (ch !== '\n' && ch !== '\r') continue;
      if (ch === '\r' && i === this.buffer.length - 1) break;
      const line = this.buffer.slice(start, i);
      if (ch === '\r' && this.buffer[i + 1] === '\n') i++;
      start = i + 1;
      const msg = this.line(line);
      if (msg) out.push(msg);
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  /** End of stream: a lone trailing CR still ends its line; an unterminated event is dropped (per spec). */
  end(): SseMessage[] {
    const out: SseMessage[] = [];
    if (this.buffer.endsWith('\r')) {
      const msg = this.line(this.buffer.slice(0, -1));
      if (msg) out.push(msg);
    }
    this.buffer = '';
    this.data = [];
    this.eventType = '';
    this.retry = undefined;
    return out;
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        break;
      case 'event':
        this.eventType = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
    }
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    const { data, eventType, retry } = this;
    this.data = [];
    this.eventType = '';
    this.retry = undefined;
    if (data.length === 0) return undefined;
    const msg: SseMessage = { id: this.lastId, event: eventType || 'message', data: data.join('\n') };
    if (retry !== undefined) msg.retry = retry;
    return msg;
  }
}

/** Parses an event-stream body as it arrives; UTF-8 sequences split across chunks are kept whole. */
export async function* readSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder('utf-8');
  const parser = new SseParser();
  for await (const chunk of body) {
    yield* parser.push(decoder.decode(chunk, { stream: true }));
  }
  yield* parser.push(decoder.decode());
  yield* parser.end();
}
