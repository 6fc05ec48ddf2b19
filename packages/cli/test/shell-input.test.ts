import { describe, expect, it } from 'vitest';
import { ApiError } from '@steward/client';
import { cutAt, InputPump, MAX_INPUT_CHARS } from '../src/shell/input-pump.js';
import { endNote, shellExitCode } from '../src/commands/shell.js';

describe('InputPump', () => {
  it('keeps input until started, then sends one request at a time, batching what was typed meanwhile', async () => {
    const sent: [number, string][] = [];
    let release: () => void = () => {};
    const pump = new InputPump(
      (seq, data) => {
        sent.push([seq, data]);
        return new Promise((r) => (release = r));
      },
      (e) => {
        throw e;
      },
    );
    pump.push('ab');
    expect(sent).toEqual([]);
    pump.start();
    expect(sent).toEqual([[0, 'ab']]);
    pump.push('c');
    pump.push('d');
    expect(sent).toHaveLength(1);
    release();
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([[0, 'ab'], [1, 'cd']]);
    release();
    await pump.drained();
  });

  it('sends a failed request again with the same seq, and stops quietly when the session ended (409)', async () => {
    const sent: [number, string][] = [];
    const errors: unknown[] = [];
    let calls = 0;
    const pump = new InputPump(
      async (seq, data) => {
        sent.push([seq, data]);
        calls++;
        if (calls === 1) throw new TypeError('fetch failed');
        if (calls === 3) throw new ApiError(409, 'session_not_running', 'session ended', { state: 'succeeded' });
      },
      (e) => errors.push(e),
      1,
    );
    pump.start();
    pump.push('x');
    await pump.drained();
    pump.push('y');
    await pump.drained();
    pump.push('z');
    await pump.drained();
    expect(sent).toEqual([[0, 'x'], [0, 'x'], [1, 'y']]);
    expect(errors).toEqual([]);
  });

  it('reports an error that is not worth retrying (403) and stops', async () => {
    const errors: unknown[] = [];
    const pump = new InputPump(async () => {
      throw new ApiError(403, 'forbidden', 'this token may only read');
    }, (e) => errors.push(e), 1);
    pump.start();
    pump.push('x');
    await pump.drained();
    expect(errors).toHaveLength(1);
  });

  it('splits a large paste into bounded requests without cutting a surrogate pair', async () => {
    const sent: string[] = [];
    const pump = new InputPump(async (_seq, data) => void sent.push(data), (e) => {
      throw e;
    });
    const text = 'a'.repeat(MAX_INPUT_CHARS - 1) + '😀' + 'b'.repeat(10);
    pump.start();
    pump.push(text);
    await pump.drained();
    expect(sent.join('')).toBe(text);
    expect(sent[0]).toHaveLength(MAX_INPUT_CHARS - 1);
    expect(cutAt('ab', 5)).toBe(2);
  });
});

describe('steward shell exit', () => {
  it('exits with the remote exit code, 1 without one, and says why a session ended otherwise', () => {
    expect(shellExitCode({ result: { exitCode: 3, signal: null } })).toBe(3);
    expect(shellExitCode({ result: { exitCode: null, signal: 'SIGHUP' } })).toBe(1);
    expect(shellExitCode({ result: null })).toBe(1);
    expect(endNote({ state: 'failed', error: { code: 'nonzero_exit', message: 'exited with code 3' } })).toBeNull();
    expect(endNote({ state: 'failed', error: { code: 'idle_timeout', message: 'closed after 1000 ms without input or output' } })).toBe(
      'session failed: closed after 1000 ms without input or output',
    );
  });
});
