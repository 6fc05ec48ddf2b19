import { describe, expect, it } from 'vitest';
import { InputSender } from '../src/views/node/input-sender.js';

/** A POST that answers when the test says so, to hold one request in flight. */
function gatedPost() {
  const sent: { seq: number; data: string }[] = [];
  const waiting: { resolve(): void; reject(e: Error): void }[] = [];
  const post = (seq: number, data: string) =>
    new Promise<void>((resolve, reject) => {
      sent.push({ seq, data });
      waiting.push({ resolve, reject });
    });
  const answer = async (err?: Error) => {
    const w = waiting.shift()!;
    if (err) w.reject(err);
    else w.resolve();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { sent, post, answer };
}

describe('terminal input sender', () => {
  it('waits for start, keeps one request in flight, batches what is typed meanwhile, numbers them from 0', async () => {
    const g = gatedPost();
    const s = new InputSender(g.post, () => {});
    s.push('l');
    s.push('s');
    expect(g.sent).toEqual([]);
    s.start();
    expect(g.sent).toEqual([{ seq: 0, data: 'ls' }]);
    s.push(' -l');
    s.push('a\r');
    expect(g.sent).toHaveLength(1);
    await g.answer();
    expect(g.sent).toEqual([
      { seq: 0, data: 'ls' },
      { seq: 1, data: ' -la\r' },
    ]);
    await g.answer();
    expect(g.sent).toHaveLength(2);
  });

  it('splits a paste over 64 KiB; retries a session not yet running; stops on any other refusal', async () => {
    const g = gatedPost();
    const errors: Error[] = [];
    const s = new InputSender(g.post, (e) => errors.push(e));
    s.start();
    s.push('x'.repeat(64 * 1024 + 10));
    expect(g.sent.map((p) => p.data.length)).toEqual([64 * 1024]);
    await g.answer(Object.assign(new Error('not running'), { code: 'session_not_running' }));
    // The retry comes after a short delay: wait for it (bounded), not for a fixed time.
    for (let i = 0; i < 200 && g.sent.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    // The same seq again, then the rest.
    expect(g.sent.map((p) => [p.seq, p.data.length])).toEqual([
      [0, 64 * 1024],
      [0, 64 * 1024],
    ]);
    await g.answer();
    expect(g.sent.at(-1)).toEqual({ seq: 1, data: 'x'.repeat(10) });
    await g.answer(Object.assign(new Error('gone'), { code: 'not_found' }));
    expect(errors.map((e) => e.message)).toEqual(['gone']);
    s.push('more');
    expect(g.sent).toHaveLength(3);
  });
});
