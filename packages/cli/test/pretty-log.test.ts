import { describe, expect, it } from 'vitest';
import { prettyLogLine } from '../src/pretty-log.js';

describe('prettyLogLine', () => {
  const time = new Date(2026, 0, 2, 3, 4, 5).getTime();

  it('shows time, level, message and the other fields, without pid, hostname or the logger name', () => {
    const line = JSON.stringify({ level: 30, time, pid: 1, hostname: 'h', name: 'steward-server', url: 'http://127.0.0.1:7070', db: 'sqlite', msg: 'control plane listening' });
    expect(prettyLogLine(line)).toBe('03:04:05 INFO  control plane listening url=http://127.0.0.1:7070 db=sqlite');
  });

  it('quotes values with spaces, prints objects as JSON and keeps an error stack under the line', () => {
    const line = JSON.stringify({ level: 50, time, note: 'a b', n: { x: 1 }, err: { message: 'boom', stack: 'Error: boom\n    at f' }, msg: 'failed' });
    expect(prettyLogLine(line)).toBe('03:04:05 ERROR failed note="a b" n={"x":1}\n    Error: boom\n        at f');
  });

  it('colours the level only when asked', () => {
    expect(prettyLogLine(JSON.stringify({ level: 40, time, msg: 'w' }), true)).toBe('03:04:05 \u001b[33mWARN \u001b[0m w');
  });

  it('leaves lines that are not pino objects as they are', () => {
    for (const line of ['agent running as node node_1', '{"not":"pino"}', '42', '']) expect(prettyLogLine(line)).toBe(line);
  });
});
