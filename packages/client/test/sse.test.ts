import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readSse, SseParser, type SseMessage } from '../src/sse.js';

function parseAll(pieces: string[]): SseMessage[] {
  const p = new SseParser();
  const out: SseMessage[] = [];
  for (const piece of pieces) out.push(...p.push(piece));
  out.push(...p.end());
  return out;
}

async function parseBytes(chunks: Uint8Array[]): Promise<SseMessage[]> {
  async function* body() {
    for (const c of chunks) yield c;
  }
  const out: SseMessage[] = [];
  for await (const m of readSse(body())) out.push(m);
  return out;
}

/** Cuts `text` at the given positions (sorted, deduplicated, clamped). */
function cut<T extends { length: number; slice(a: number, b?: number): T }>(text: T, points: number[]): T[] {
  const sorted = [...new Set(points.map((p) => Math.min(Math.max(p, 0), text.length)))].sort((a, b) => a - b);
  const pieces: T[] = [];
  let last = 0;
  for (const p of sorted) {
    pieces.push(text.slice(last, p));
    last = p;
  }
  pieces.push(text.slice(last));
  return pieces;
}

const STREAM =
  ': ping\n\n' +
  'id: 1\nevent: node.status\ndata: {"kind":"node.status","name":"wëb-1 ✓"}\n\n' +
  'id: 2\r\nevent: command.state\r\ndata: {"a":\r\ndata: 1}\r\n\r\n' +
  'event: job.state\rdata:no-space\r\r' +
  'retry: 3000\ndata: x\n\n' +
  'data: unterminated';

const EXPECTED: SseMessage[] = [
  { id: '1', event: 'node.status', data: '{"kind":"node.status","name":"wëb-1 ✓"}' },
  { id: '2', event: 'command.state', data: '{"a":\n1}' },
  { id: '2', event: 'job.state', data: 'no-space' },
  { id: '2', event: 'message', data: 'x', retry: 3000 },
];

describe('SseParser', () => {
  it('parses ids, kinds, multi-line data, all three line endings and comments', () => {
    expect(parseAll([STREAM])).toEqual(EXPECTED);
  });

  it('drops an event that has no data and one cut off by the end of the stream', () => {
    expect(parseAll(['event: x\n\n', 'data: half'])).toEqual([]);
  });

  it('strips a leading BOM and only one space after the colon', () => {
    expect(parseAll(['\uFEFFdata:  two\n\n'])).toEqual([{ id: '', event: 'message', data: ' two' }]);
  });

  it('keeps CR and LF of one CRLF together across pieces', () => {
    expect(parseAll(['data: a\r', '\n', '\r', '\ndata: b\r\n\r\n'])).toEqual([
      { id: '', event: 'message', data: 'a' },
      { id: '', event: 'message', data: 'b' },
    ]);
  });

  it('gives the same events however the text is split', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: STREAM.length }), { maxLength: 40 }), (points) => {
        expect(parseAll(cut(STREAM, points))).toEqual(EXPECTED);
      }),
      { numRuns: 500 },
    );
  });

  it('gives the same events however the bytes are split, even inside UTF-8 sequences', async () => {
    const bytes = new TextEncoder().encode(STREAM);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: bytes.length }), { maxLength: 40 }), async (points) => {
        expect(await parseBytes(cut(bytes, points))).toEqual(EXPECTED);
      }),
      { numRuns: 300 },
    );
  });

  it('splits every boundary at once (one byte per chunk)', async () => {
    const bytes = new TextEncoder().encode(STREAM);
    const chunks = Array.from(bytes, (b) => Uint8Array.of(b));
    expect(await parseBytes(chunks)).toEqual(EXPECTED);
  });
});
