import { describe, expect, it } from 'vitest';
import { SseParser, type SseMessage } from '../src/api/sse-parser.js';

describe('SSE parser', () => {
  const collect = () => {
    const got: SseMessage[] = [];
    return { got, parser: new SseParser((m) => got.push(m)) };
  };

  it('parses events split across arbitrary chunk boundaries', () => {
    const stream = 'retry: 2000\n\nid: b-1\nevent: node.status\ndata: {"a":1}\n\n: ping\n\nid: b-2\nevent: command.state\ndata: {"b":2}\n\n';
    for (let size = 1; size <= stream.length; size++) {
      const { got, parser } = collect();
      for (let i = 0; i < stream.length; i += size) parser.feed(stream.slice(i, i + size));
      expect(got).toEqual([
        { id: 'b-1', event: 'node.status', data: '{"a":1}' },
        { id: 'b-2', event: 'command.state', data: '{"b":2}' },
      ]);
      expect(parser.lastEventId).toBe('b-2');
    }
  });

  it('joins multi-line data, accepts CRLF, and ignores comments', () => {
    const { got, parser } = collect();
    parser.feed(': hello\r\n\r\ndata: one\r\ndata: two\r\n\r\n');
    expect(got).toEqual([{ id: undefined, event: 'message', data: 'one\ntwo' }]);
  });

  it('holds an unfinished event until its blank line arrives', () => {
    const { got, parser } = collect();
    parser.feed('event: x\ndata: 1\n');
    expect(got).toEqual([]);
    parser.feed('\n');
    expect(got).toHaveLength(1);
  });
});
