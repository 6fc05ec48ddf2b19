import { describe, expect, it } from 'vitest';
import { AsciicastWriter } from '../../src/recordings/asciicast.js';
import { sessionRetentionMs, DEFAULT_SESSION_RETENTION_MS } from '../../src/recordings/config.js';

const lines = (cast: string) => cast.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);

describe('asciicast v2 writer', () => {
  it('header from the first resize, "o" per pty chunk, "r" per later resize, seconds from the first chunk', () => {
    const w = new AsciicastWriter({ cols: 80, rows: 24, term: 'xterm-256color', command: ['bash', '-c', "echo 'hi there'"], title: 't', startedAt: 1_000 });
    w.add({ seq: 0, stream: 'resize', data: '100x30', at: 10_000 });
    w.add({ seq: 1, stream: 'pty', data: '$ ', at: 10_250 });
    w.add({ seq: 2, stream: 'resize', data: '120x40', at: 11_000 });
    w.add({ seq: 3, stream: 'stdout', data: 'not a terminal stream', at: 11_100 });
    w.add({ seq: 4, stream: 'pty', data: 'é\u001b[0m\r\n', at: 11_500 });
    const [header, ...events] = lines(w.finish());
    expect(header).toEqual({ version: 2, width: 100, height: 30, timestamp: 10, command: "bash -c 'echo '\\''hi there'\\'''", title: 't', env: { TERM: 'xterm-256color' } });
    expect(events).toEqual([
      [0.25, 'o', '$ '],
      [1, 'r', '120x40'],
      [1.5, 'o', 'é\u001b[0m\r\n'],
    ]);
  });

  it('time never runs backwards when the node clock steps back; no chunks gives a header alone', () => {
    const w = new AsciicastWriter({ cols: 80, rows: 24, term: 'vt100', startedAt: 5_000 });
    w.add({ seq: 0, stream: 'pty', data: 'a', at: 2_000 });
    w.add({ seq: 1, stream: 'pty', data: 'b', at: 1_500 });
    expect(lines(w.finish()).slice(1)).toEqual([
      [0, 'o', 'a'],
      [0, 'o', 'b'],
    ]);
    const empty = new AsciicastWriter({ cols: 80, rows: 24, term: 'vt100', startedAt: 5_000 }).finish();
    expect(lines(empty)).toEqual([{ version: 2, width: 80, height: 24, timestamp: 5, env: { TERM: 'vt100' } }]);
  });

  it('a malformed resize is left out', () => {
    const w = new AsciicastWriter({ cols: 80, rows: 24, term: 'xterm', startedAt: 0 });
    w.add({ seq: 0, stream: 'pty', data: 'x', at: 0 });
    w.add({ seq: 1, stream: 'resize', data: 'wide', at: 5 });
    expect(lines(w.finish())).toHaveLength(2);
  });
});

describe('session retention setting', () => {
  it('option over environment over 90 days; 0 and off keep forever; nonsense is refused', () => {
    expect(sessionRetentionMs(undefined, {})).toBe(DEFAULT_SESSION_RETENTION_MS);
    expect(sessionRetentionMs(undefined, { STEWARD_SESSION_RETENTION: '12h' })).toBe(12 * 3_600_000);
    expect(sessionRetentionMs('30d', { STEWARD_SESSION_RETENTION: '12h' })).toBe(30 * 86_400_000);
    expect(sessionRetentionMs('0', {})).toBeNull();
    expect(sessionRetentionMs(undefined, { STEWARD_SESSION_RETENTION: 'OFF' })).toBeNull();
    expect(() => sessionRetentionMs('forever', {})).toThrow(/sessionRetention.*not a duration/);
    expect(() => sessionRetentionMs(undefined, { STEWARD_SESSION_RETENTION: '-1d' })).toThrow(/STEWARD_SESSION_RETENTION/);
  });
});
