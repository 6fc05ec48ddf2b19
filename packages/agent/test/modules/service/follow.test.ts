import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { followLog, type FollowOptions } from '../../../src/modules/service/follow.js';
import { rotateIfLarge } from '../../../src/modules/service/logs.js';
import { waitFor } from '../../../../../test/support/wait.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A log file with `initial` in it, and a follower of it writing into `seen`. */
function follower(initial: string, opts: Partial<FollowOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'steward-follow-'));
  dirs.push(dir);
  const path = join(dir, 'output.log');
  writeFileSync(path, initial);
  const seen: Buffer[] = [];
  const ac = new AbortController();
  const done = followLog({
    path,
    offset: undefined,
    tailBytes: 4,
    signal: ac.signal,
    until: Date.now() + 60_000,
    maxBytes: 1024 * 1024,
    exists: () => true,
    write: (d) => seen.push(Buffer.from(d)),
    ...opts,
  });
  return { path, done, ac, text: () => Buffer.concat(seen).toString('utf8') };
}

describe('following a service log', () => {
  it('sends the tail, then each byte the service appends, until aborted', async () => {
    const f = follower('old line\nab\n', { tailBytes: 3 });
    await waitFor('the tail', () => f.text() === 'ab\n');
    appendFileSync(f.path, 'new 1\n');
    await waitFor('appended output', () => f.text() === 'ab\nnew 1\n');
    // A character cut between two writes of the service arrives whole once both are there.
    const euro = Buffer.from('€\n');
    appendFileSync(f.path, euro.subarray(0, 1));
    await waitFor('first byte', () => f.text().length > 'ab\nnew 1\n'.length);
    appendFileSync(f.path, euro.subarray(1));
    await waitFor('second part', () => f.text().endsWith('€\n'));
    f.ac.abort();
    expect(await f.done).toEqual({ bytes: 3 + 6 + 4, offset: Buffer.byteLength('old line\nab\nnew 1\n€\n'), ended: 'timeout' });
  });

  it('loses nothing and repeats nothing across a copy-and-truncate rotation', async () => {
    const f = follower('a\n', { tailBytes: 1024 });
    await waitFor('the tail', () => f.text() === 'a\n');
    // Written and rotated away before or after the follower looked: either way it comes once.
    appendFileSync(f.path, 'b\n');
    expect(rotateIfLarge(f.path, 1, 2)).toBe(true);
    appendFileSync(f.path, 'c\n');
    await waitFor('after the rotation', () => f.text().includes('c\n'));
    expect(f.text()).toBe('a\nb\nc\n');
    // Read before the rotation: not sent again from the rotated part.
    appendFileSync(f.path, 'd\n');
    await waitFor('d', () => f.text().endsWith('d\n'));
    expect(rotateIfLarge(f.path, 1, 2)).toBe(true);
    appendFileSync(f.path, 'e\n');
    await waitFor('after the second rotation', () => f.text().includes('e\n'));
    expect(f.text()).toBe('a\nb\nc\nd\ne\n');
    f.ac.abort();
    await f.done;
  });

  it('stops on its own at the deadline, at the byte cap, and when the service is gone', async () => {
    const timed = follower('x\n', { until: Date.now() + 300 });
    expect(await timed.done).toMatchObject({ ended: 'timeout', bytes: 2 });

    const capped = follower('', { maxBytes: 10 });
    appendFileSync(capped.path, '0123456789abcdef');
    expect(await capped.done).toMatchObject({ ended: 'cap', bytes: 16 });

    let there = true;
    const removed = follower('y\n', { exists: () => there });
    await waitFor('the tail', () => removed.text() === 'y\n');
    there = false;
    expect(await removed.done).toMatchObject({ ended: 'removed', bytes: 2 });
  });
});
