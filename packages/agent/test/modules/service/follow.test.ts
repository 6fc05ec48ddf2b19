import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { NO_OUTPUT } from '../../../src/core/output.js';
import serviceModule from '../../../src/modules/service/index.js';
import { followLog, type FollowOptions } from '../../../src/modules/service/follow.js';
import { Installer } from '../../../src/modules/service/installer.js';
import { chooseLimits } from '../../../src/modules/service/limits.js';
import { rotateIfLarge } from '../../../src/modules/service/logs.js';
import { Supervisor } from '../../../src/modules/service/supervisor.js';
import { failure, testConfig, testContext, testLink, type Written } from '../context.js';
import { ArtifactServer, packTarGz, SLEEPER, spec } from '../../../../../test/support/service-artifacts.js';
import { waitFor } from '../../../../../test/support/wait.js';

const dirs: string[] = [];
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
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

describe('service.logs with follow (the handler, a real supervised service)', () => {
  it('streams the log as command output until cancelled, and refuses an unknown service or a context that does not stream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steward-follow-sup-'));
    dirs.push(dir);
    const log = pino({ level: 'silent' });
    const artifacts = await new ArtifactServer().start();
    cleanup.push(() => artifacts.stop());
    const sup = new Supervisor({
      stateFile: join(dir, 'state.json'),
      installer: new Installer(join(dir, 'services'), testLink()),
      limits: chooseLimits({ cgroup: 'off', root: '/sys/fs/cgroup', parent: 'steward-test' }, log),
      log,
      pollIntervalMs: 50,
      logMaxBytes: 1024 * 1024,
      logKeep: 2,
      emit: () => {},
    });
    sup.start();
    cleanup.push(async () => {
      await sup.remove('sleepy');
      await sup.stop();
    });
    const bytes = await packTarGz({ run: SLEEPER });
    expect((await sup.apply(1, spec('sleepy', '1.0.0', artifacts.put('sleepy.tgz', bytes), bytes))).outcome).toBe('installed');
    const first = await waitFor('running', () => sup.status('sleepy')?.pid ?? null);

    const handler = serviceModule.commands.find((c) => c.type === 'service.logs')!.handler;
    const config = testConfig(dir);
    const module = { supervisor: sup, stop: async () => {} };
    const written: Written = [];
    const ac = new AbortController();
    const following = handler({ name: 'sleepy', follow: true }, testContext(config, ac.signal, { module, output: written }));
    const text = () => written.map((w) => w.data).join('');
    await waitFor('the tail', () => text().includes(`up ${first}`));
    // A line the service prints after the follow began (a restart prints "up <new pid>").
    const second = (await sup.operatorRestart('sleepy'))!.pid;
    await waitFor('the new line', () => text().includes(`up ${second}`));
    expect(written.every((w) => w.stream === 'stdout')).toBe(true);
    ac.abort();
    expect(await following).toMatchObject({ ended: 'timeout', bytes: Buffer.byteLength(text()) });

    expect((await failure(handler({ name: 'nope', follow: true }, testContext(config, undefined, { module })))).code).toBe('unknown_service');
    const inbound = { ...testContext(config, undefined, { module }), output: NO_OUTPUT };
    expect((await failure(handler({ name: 'sleepy', follow: true }, inbound))).code).toBe('follow_not_streamed');
  });
});
