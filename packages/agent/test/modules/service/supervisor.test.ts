import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceNodeReport } from '@steward/protocol';
import { Installer } from '../../../src/modules/service/installer.js';
import { testLink } from '../context.js';
import { chooseLimits } from '../../../src/modules/service/limits.js';
import { signalGroup } from '../../../src/lib/process-group.js';
import { Supervisor } from '../../../src/modules/service/supervisor.js';
import { ArtifactServer, removeTestCgroups, CRASHER, HOG, HTTP_SERVICE, packTarGz, SLEEPER, spec, TCP_SERVICE } from '../../../../../test/support/service-artifacts.js';
import { waitFor } from '../../../../../test/support/wait.js';

const log = pino({ level: 'silent' });
const PARENT = `steward-test-${randomBytes(4).toString('hex')}`;
let artifacts: ArtifactServer;
const dirs: string[] = [];
const sups: Supervisor[] = [];

beforeAll(async () => {
  artifacts = await new ArtifactServer().start();
});
afterAll(async () => {
  await artifacts.stop();
  removeTestCgroups(PARENT);
});
afterEach(async () => {
  for (const s of sups.splice(0)) {
    for (const r of s.report().services) await s.remove(r.name);
    await s.stop();
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function make(opts: { cgroup?: 'auto' | 'off'; dir?: string; events?: ServiceNodeReport[] } = {}): { sup: Supervisor; dir: string } {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'steward-sup-'));
  if (!opts.dir) dirs.push(dir);
  const limits = chooseLimits({ cgroup: opts.cgroup ?? 'auto', root: '/sys/fs/cgroup', parent: PARENT }, log);
  const sup = new Supervisor({
    stateFile: join(dir, 'state.json'),
    installer: new Installer(join(dir, 'services'), testLink()),
    limits,
    log,
    pollIntervalMs: 50,
    logMaxBytes: 1024 * 1024,
    logKeep: 2,
    emit: (event, data) => {
      if (event === 'state') opts.events?.push(structuredClone(data as ServiceNodeReport));
    },
  });
  sup.start();
  sups.push(sup);
  return { sup, dir };
}

function ask(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    let out = '';
    s.on('data', (d) => (out += d));
    s.on('end', () => resolve(out.trim()));
    s.on('error', reject);
  });
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((ok) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => ok(p));
    });
  });
}

describe('service supervisor with real processes', () => {
  it('a crash loop ends fatal, with the backoff delays growing ×1.5 in the exit record', async () => {
    const bytes = await packTarGz({ run: CRASHER });
    const { sup } = make();
    const s = spec('crashy', '1.0.0', artifacts.put('crashy.tgz', bytes), bytes, { restart: { initialDelayMs: 100, fatalAfter: { crashes: 5, withinMs: 60_000 } } });
    const res = await sup.apply(1, s);
    expect(res.outcome).toBe('installed');
    const st = await waitFor('fatal', () => (sup.status('crashy')?.state === 'fatal' ? sup.status('crashy') : null));
    expect(st.exits.map((e) => e.delayMs)).toEqual([100, 150, 225, 338, null]);
    expect(st.exits.every((e) => e.code === 3)).toBe(true);
    expect(st.restarts).toBe(4);
    expect(st.reason).toMatch(/5 abnormal exits within 60000 ms; last: exited with code 3/);
    // Each restart really waited at least its delay.
    for (let i = 1; i < st.exits.length; i++) expect(st.exits[i]!.at - st.exits[i - 1]!.at).toBeGreaterThanOrEqual(st.exits[i - 1]!.delayMs!);
  });

  it('a checksum mismatch is refused and installs nothing', async () => {
    const bytes = await packTarGz({ run: SLEEPER });
    const { sup, dir } = make();
    const s = spec('tampered', '1.0.0', artifacts.put('tampered.tgz', bytes), Buffer.from('something else'));
    const res = await sup.apply(1, s);
    expect(res.outcome).toBe('install_failed');
    expect(res.reason).toMatch(/checksum mismatch/);
    expect(res.cause).toBe('checksum_mismatch');
    expect(sup.status('tampered')).toMatchObject({ state: 'failed', version: null, pid: null, lastOutcome: { kind: 'install_failed' } });
    expect(existsSync(join(dir, 'services', 'tampered', '1.0.0'))).toBe(false);
    expect(readdirSync(join(dir, 'services', 'tampered')).filter((e) => e !== 'logs')).toEqual([]);
  });

  it('a memory hog is killed by the cgroup memory limit and shows killed with the reason', async () => {
    const bytes = await packTarGz({ run: HOG });
    const events: ServiceNodeReport[] = [];
    const { sup } = make({ events });
    expect(sup.limitsMode).toBe('cgroup1'); // this machine mounts cgroup v1 and the agent runs as root
    const s = spec('hog', '1.0.0', artifacts.put('hog.tgz', bytes), bytes, { limits: { memoryMB: 64 }, restart: { policy: 'never' } });
    await sup.apply(1, s);
    const st = await waitFor('killed', () => (sup.status('hog')?.state === 'killed' ? sup.status('hog') : null));
    expect(st.reason).toMatch(/memory limit 64 MiB reached: killed by the kernel OOM killer \(cgroup1\)/);
    expect(st.limits).toBe('cgroup1');
    expect(st.exits.at(-1)).toMatchObject({ signal: 'SIGKILL' });
  });

  it('the restart policy applies after a limit kill', async () => {
    const bytes = await packTarGz({ run: HOG });
    const events: ServiceNodeReport[] = [];
    const { sup } = make({ events });
    const s = spec('hog2', '1.0.0', artifacts.put('hog2.tgz', bytes), bytes, { limits: { memoryMB: 48 }, restart: { initialDelayMs: 50, fatalAfter: { crashes: 2, withinMs: 60_000 } } });
    await sup.apply(1, s);
    const st = await waitFor('fatal', () => (sup.status('hog2')?.state === 'fatal' ? sup.status('hog2') : null));
    expect(events.map((e) => e.state)).toEqual(expect.arrayContaining(['killed', 'backoff', 'fatal']));
    expect(st.exits.map((e) => e.delayMs)).toEqual([50, null]);
  });

  it('without a writable cgroup the RSS watch kills over the limit and limits show degraded', async () => {
    const bytes = await packTarGz({ run: HOG });
    const { sup } = make({ cgroup: 'off' });
    expect(sup.limitsMode).toBe('degraded');
    const s = spec('hogrss', '1.0.0', artifacts.put('hogrss.tgz', bytes), bytes, { limits: { memoryMB: 64 }, restart: { policy: 'never' } });
    await sup.apply(1, s);
    const st = await waitFor('killed', () => (sup.status('hogrss')?.state === 'killed' ? sup.status('hogrss') : null));
    expect(st.reason).toMatch(/memory limit 64 MiB exceeded \(RSS \d+ MiB\); killed by the agent's RSS watch/);
    expect(st.limits).toBe('degraded');
  });

  it('an upgrade whose health check fails rolls back, and the old version answers again', async () => {
    const port = await freePort();
    const good = await packTarGz({ run: TCP_SERVICE });
    const bad = await packTarGz({ run: '#!/bin/sh\necho "v2 is broken"\nexec sleep 1000\n' });
    const { sup, dir } = make();
    // A generous grace for the good versions (slow machines start node slowly), a short one for the broken.
    const health = { tcp: { port }, intervalMs: 50, graceMs: 20_000 };
    const quick = { tcp: { port }, intervalMs: 50, graceMs: 1500 };
    const v1 = spec('web', '1.0.0', artifacts.put('web1.tgz', good), good, { env: { PORT: String(port), VERSION: 'v1' }, health });
    expect((await sup.apply(1, v1)).outcome).toBe('installed');
    expect(await ask(port)).toBe('v1');
    const pid1 = sup.status('web')!.pid;

    const v2 = spec('web', '2.0.0', artifacts.put('web2.tgz', bad), bad, { env: { PORT: String(port), VERSION: 'v2' }, health: quick });
    const res = await sup.apply(2, v2);
    expect(res.outcome).toBe('rolled_back');
    expect(res.reason).toMatch(/health check did not pass within 1500 ms/);
    const st = sup.status('web')!;
    expect(st).toMatchObject({ state: 'running', version: '1.0.0', revision: 2, lastOutcome: { kind: 'rolled_back', version: '2.0.0' } });
    expect(st.pid).not.toBe(pid1);
    expect(await ask(port)).toBe('v1');
    // Both versions are on disk beside each other; current points at the old one.
    expect(readdirSync(join(dir, 'services', 'web')).sort()).toEqual(expect.arrayContaining(['1.0.0', '2.0.0', 'current']));
    const { readlinkSync } = await import('node:fs');
    expect(readlinkSync(join(dir, 'services', 'web', 'current'))).toBe('1.0.0');

    // A good upgrade goes through and answers with the new version.
    const v3 = spec('web', '3.0.0', artifacts.put('web3.tgz', good), good, { env: { PORT: String(port), VERSION: 'v3' }, health });
    expect((await sup.apply(3, v3)).outcome).toBe('installed');
    expect(await ask(port)).toBe('v3');
    expect(readlinkSync(join(dir, 'services', 'web', 'current'))).toBe('3.0.0');
  });

  it('a new supervisor on the same state re-adopts the running process instead of starting it again', async () => {
    const bytes = await packTarGz({ run: SLEEPER });
    const first = make();
    await first.sup.apply(1, spec('sleepy', '1.0.0', artifacts.put('sleepy.tgz', bytes), bytes));
    const before = first.sup.status('sleepy')!;
    expect(before.state).toBe('running');
    await first.sup.stop();
    sups.splice(sups.indexOf(first.sup), 1);

    const second = make({ dir: first.dir });
    const after = second.sup.status('sleepy')!;
    expect(after).toMatchObject({ state: 'running', pid: before.pid, restarts: 0, startedAt: before.startedAt });
    // The adopted process's exit is noticed by polling (the agent is not its parent).
    signalGroup(before.pid!, 'SIGKILL');
    const st = await waitFor('restarted', () => {
      const s = second.sup.status('sleepy');
      return s?.state === 'running' && s.pid !== before.pid ? s : null;
    });
    expect(st.restarts).toBe(1);
    expect(st.exits[0]!.reason).toMatch(/exit status unknown/);
  });

  it('logs are readable by tail and by offset; remove stops and deletes', async () => {
    const bytes = await packTarGz({ run: '#!/bin/sh\necho hello-out\necho hello-err >&2\nexec sleep 1000\n' });
    const { sup, dir } = make();
    await sup.apply(1, spec('talky', '1.0.0', artifacts.put('talky.tgz', bytes), bytes));
    const chunk = await waitFor('output', () => {
      const c = sup.logs('talky', undefined, 4096);
      return c && c.data.includes('hello-err') ? c : null;
    });
    expect(chunk.data).toContain('hello-out');
    expect(sup.logs('talky', chunk.offset, 4096)).toMatchObject({ data: '', offset: chunk.offset });
    const pid = sup.status('talky')!.pid!;
    expect(await sup.remove('talky')).toEqual({ name: 'talky', removed: true });
    expect(existsSync(join(dir, 'services', 'talky'))).toBe(false);
    expect(signalGroup(pid, 0)).toBe(false);
    expect(sup.status('talky')).toBeNull();
  });

  it('a new revision with the same run spec (only the target changed) records the revision without a restart', async () => {
    const bytes = await packTarGz({ run: SLEEPER });
    const { sup } = make();
    const s = spec('steady', '1.0.0', artifacts.put('steady.tgz', bytes), bytes, { env: { A: '1', B: '2' } });
    await sup.apply(1, s);
    const before = sup.status('steady')!;
    const res = await sup.apply(2, { ...s, env: { B: '2', A: '1' } });
    expect(res).toMatchObject({ outcome: 'unchanged', revision: 2 });
    expect(sup.status('steady')).toMatchObject({ revision: 2, pid: before.pid, startedAt: before.startedAt, state: 'running' });
    // A real change restarts it.
    expect((await sup.apply(3, { ...s, env: { A: '2' } })).outcome).toBe('installed');
    expect(sup.status('steady')!.pid).not.toBe(before.pid);
  });

  it('operator stop holds a service; start brings it back', async () => {
    const bytes = await packTarGz({ run: SLEEPER });
    const crasher = await packTarGz({ run: CRASHER });
    const { sup } = make();
    const restart = { initialDelayMs: 100, fatalAfter: { crashes: 1000, withinMs: 60_000 } };
    await sup.apply(1, spec('held', '1.0.0', artifacts.put('held.tgz', bytes), bytes, { restart }));
    // A witness under the same supervisor and restart policy: its restarts show the supervisor
    // kept restarting what exits, so a held service that were to come back would have by then.
    await sup.apply(1, spec('witness', '1.0.0', artifacts.put('witness.tgz', crasher), crasher, { restart }));
    const pid = sup.status('held')!.pid!;
    expect(await sup.operatorStop('held')).toMatchObject({ state: 'stopped', pid: null, reason: 'stopped by an operator' });
    expect(signalGroup(pid, 0)).toBe(false);
    const restartsAtStop = sup.status('witness')!.restarts;
    await waitFor('the witness to be restarted twice after the stop', () => sup.status('witness')!.restarts >= restartsAtStop + 2);
    expect(sup.status('held')!.state).toBe('stopped');
    const started = await sup.operatorStart('held');
    expect(started).toMatchObject({ state: 'running' });
    expect(started!.pid).not.toBe(pid);
  });

  describe('continuous health checks', () => {
    async function httpService(name: string, events: ServiceNodeReport[]) {
      const port = await freePort();
      const bytes = await packTarGz({ run: HTTP_SERVICE });
      const { sup, dir } = make({ events });
      const health = { http: { url: `http://127.0.0.1:${port}/health` }, intervalMs: 100, timeoutMs: 300, failuresBeforeUnhealthy: 3, graceMs: 20_000 };
      const restart = { initialDelayMs: 50, fatalAfter: { crashes: 100, withinMs: 60_000 } };
      const res = await sup.apply(1, spec(name, '1.0.0', artifacts.put(`${name}.tgz`, bytes), bytes, { env: { PORT: String(port) }, health, restart }));
      expect(res.outcome).toBe('installed');
      return { sup, cwd: join(dir, 'services', name, '1.0.0'), pid: sup.status(name)!.pid! };
    }

    it('a service whose health endpoint starts failing is reported unhealthy, restarted, and running again', async () => {
      const events: ServiceNodeReport[] = [];
      const { sup, cwd, pid } = await httpService('flaky', events);
      const seen = events.length;
      writeFileSync(join(cwd, 'sick'), '');
      const back = await waitFor('running again with a new pid', () => {
        const s = sup.status('flaky');
        return s?.state === 'running' && s.pid !== pid ? s : null;
      });
      const states = events.slice(seen).map((e) => e.state);
      // unhealthy → backoff (restarting) → starting → running, in that order.
      expect(states.slice(0, 4)).toEqual(['unhealthy', 'backoff', 'starting', 'running']);
      expect(events[seen]!.reason).toMatch(/health check failed 3 times in a row: http .*status 500/);
      expect(back.restarts).toBe(1);
      expect(back.exits.at(-1)!.reason).toMatch(/^unhealthy: health check failed 3 times/);
      expect(signalGroup(pid, 0)).toBe(false);
    });

    it("a hung (SIGSTOP'd) process fails its check by timeout and is replaced", async () => {
      const events: ServiceNodeReport[] = [];
      const { sup, pid } = await httpService('hung', events);
      signalGroup(pid, 'SIGSTOP');
      const back = await waitFor('replaced by a new running process', () => {
        const s = sup.status('hung');
        return s?.state === 'running' && s.pid !== pid ? s : null;
      });
      const unhealthy = events.find((e) => e.state === 'unhealthy');
      expect(unhealthy?.reason).toMatch(/health check failed 3 times in a row: http .*(timeout|aborted)/i);
      expect(back.restarts).toBe(1);
      // The stopped process is gone (SIGKILL ends a stopped process too).
      expect(signalGroup(pid, 0)).toBe(false);
    });

    it('an operator stop of a stopped process ends it by its stop signal (SIGCONT follows), not after the stop timeout', async () => {
      const { sup, pid } = await httpService('frozen', []);
      signalGroup(pid, 'SIGSTOP');
      const t0 = Date.now();
      expect(await sup.operatorStop('frozen')).toMatchObject({ state: 'stopped', pid: null });
      // The default stop timeout is 5 s; SIGTERM + SIGCONT ends the node process at once.
      expect(Date.now() - t0).toBeLessThan(4000);
      expect(signalGroup(pid, 0)).toBe(false);
    });
  });

  describe('start order', () => {
    /** Appends "NAME ms" to $ORDER at start; with $PORT, listens there only after $DELAY ms (its health check passes late). */
    const ORDERED = `#!/usr/bin/env node
require('node:fs').appendFileSync(process.env.ORDER, process.env.NAME + ' ' + Date.now() + '\\n');
if (process.env.PORT) setTimeout(() => require('node:net').createServer((s) => s.end()).listen(Number(process.env.PORT), '127.0.0.1'), Number(process.env.DELAY || 0));
setInterval(() => {}, 1 << 30);
`;

    it('after an agent restart that found its services gone (a reboot), they start in order, each after the one before is healthy', async () => {
      const bytes = await packTarGz({ run: ORDERED });
      const url = artifacts.put('ordered.tgz', bytes);
      const first = make();
      const order = join(first.dir, 'order.log');
      const port = await freePort();
      const env = (name: string, extra: Record<string, string> = {}) => ({ env: { NAME: name, ORDER: order, ...extra } });
      // db is slow to become healthy; app waits for it whatever its lower priority; web has no
      // dependency and the lowest priority among those ready, so it goes first.
      const db = spec('db', '1.0.0', url, bytes, { ...env('db', { PORT: String(port), DELAY: '700' }), priority: 5, health: { tcp: { port }, intervalMs: 50, graceMs: 20_000 } });
      const app = spec('app', '1.0.0', url, bytes, { ...env('app'), priority: -5, after: ['db'] });
      // web is health-checked too: a service without a check counts as up at spawn, and then the
      // next one's node process may write its line first (the order of spawns, not of lines).
      let webPort = await freePort();
      while (webPort === port) webPort = await freePort();
      const web = spec('web', '1.0.0', url, bytes, { ...env('web', { PORT: String(webPort) }), priority: 0, health: { tcp: { port: webPort }, intervalMs: 50, graceMs: 20_000 } });
      for (const s of [app, web, db]) expect((await first.sup.apply(1, s)).outcome).toBe('installed');
      const pids = ['app', 'web', 'db'].map((n) => first.sup.status(n)!.pid!);
      await first.sup.stop();
      sups.splice(sups.indexOf(first.sup), 1);
      // The reboot: every service process is gone before the next agent starts.
      for (const pid of pids) signalGroup(pid, 'SIGKILL');
      await waitFor('the old processes gone', () => pids.every((p) => !signalGroup(p, 0)));
      writeFileSync(order, '');

      const second = make({ dir: first.dir });
      await waitFor('all three running again', () => ['app', 'web', 'db'].every((n) => second.sup.status(n)?.state === 'running'));
      const { readFileSync } = await import('node:fs');
      // Without a health check "running" comes at spawn; the line comes once node has started.
      const starts = await waitFor('three start lines', () => {
        const lines = readFileSync(order, 'utf8').trim().split('\n').filter(Boolean);
        return lines.length === 3 ? lines.map((l) => l.split(' ')) : null;
      });
      expect(starts.map(([n]) => n)).toEqual(['web', 'db', 'app']);
      const at = Object.fromEntries(starts.map(([n, t]) => [n, Number(t)]));
      // app started only once db listened (700 ms after db's start), not when db was spawned.
      expect(at.app! - at.db!).toBeGreaterThanOrEqual(650);
      expect(second.sup.status('app')!.exits.at(-1)!.reason).toMatch(/exit status unknown/);
    });

    it('an apply that would close an after-cycle is refused by the agent and runs nothing', async () => {
      const bytes = await packTarGz({ run: SLEEPER });
      const url = artifacts.put('cyc.tgz', bytes);
      const { sup } = make();
      expect((await sup.apply(1, spec('a', '1.0.0', url, bytes, { after: ['b'] }))).outcome).toBe('installed');
      const res = await sup.apply(1, spec('b', '1.0.0', url, bytes, { after: ['a'] }));
      expect(res).toMatchObject({ outcome: 'install_failed', cause: 'dependency_cycle', state: 'failed' });
      expect(res.reason).toBe('start order has a cycle: b → a → b');
      expect(sup.status('b')).toMatchObject({ pid: null, version: null });
      expect(sup.status('a')!.state).toBe('running');
    });
  });
});
