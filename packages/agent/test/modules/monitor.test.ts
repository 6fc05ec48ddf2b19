import { readFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError, type CheckStateEventData, type MonitorChecksResult, type MonitorReport } from '@steward/protocol';
import monitorModule from '../../src/modules/monitor/index.js';
import { createRegistry, resolveModuleSettings } from '../../src/modules/registry.js';
import type { ModuleInstance } from '../../src/modules/types.js';
import { waitFor } from '../../../../test/support/wait.js';
import { run, tempDir, testConfig, testContext, testLink, type Emitted } from './context.js';

const registry = createRegistry([monitorModule]);
const started: ModuleInstance[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((m) => m.stop()));
});

async function startMonitor(dataDir: string, section: unknown, emitted: Emitted = []) {
  const settings = resolveModuleSettings([monitorModule], { monitor: section });
  const config = testConfig(dataDir);
  const inst = await monitorModule.start!({
    name: 'monitor',
    config,
    settings: settings.monitor,
    dataDir,
    log: pino({ level: 'silent' }),
    link: testLink(),
    emit: (event, data) => void emitted.push({ event, data }),
  });
  started.push(inst);
  const ctx = testContext(config, undefined, { module: inst });
  return { inst, ctx, report: () => inst.report!() as MonitorReport };
}

async function listen(port = 0): Promise<Server> {
  const srv = createServer((s) => s.destroy());
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
  return srv;
}

describe('monitor module', () => {
  it('with no checks configured it runs nothing and reports an empty set', async () => {
    const { report } = await startMonitor(await tempDir(), undefined);
    expect(report()).toEqual({ source: 'config', checks: [] });
  });

  it('a tcp check fires after N failures when the listener goes away and resolves after N successes when it is back', async () => {
    let srv = await listen();
    const port = (srv.address() as AddressInfo).port;
    const emitted: Emitted = [];
    const check = { id: 'svc', kind: 'tcp', host: '127.0.0.1', port, intervalMs: 100, failuresBeforeFiring: 3, successesBeforeResolving: 2, timeoutMs: 500 };
    const { report } = await startMonitor(await tempDir(), { checks: [check] }, emitted);
    await waitFor('ok', () => report().checks[0]?.state === 'ok');
    await new Promise((r) => srv.close(r));
    const fired = await waitFor('fired', () => emitted.find((e) => (e.data as CheckStateEventData).transition === 'fired'));
    const data = fired.data as CheckStateEventData;
    expect(fired.event).toBe('check.state');
    expect(data.check).toMatchObject({ id: 'svc', kind: 'tcp', state: 'firing', failures: 3, severity: 'warning', summary: `tcp 127.0.0.1:${port}` });
    expect(data.check.message).toContain('ECONNREFUSED');
    srv = await listen(port);
    const resolved = await waitFor('resolved', () => emitted.find((e) => (e.data as CheckStateEventData).transition === 'resolved'));
    expect((resolved.data as CheckStateEventData).check.state).toBe('ok');
    expect(emitted.map((e) => (e.data as CheckStateEventData).transition)).toEqual(['fired', 'resolved']);
    await new Promise((r) => srv.close(r));
  });

  it('presets expand to a process check on the daemon, by pid file when given', async () => {
    const dir = await tempDir();
    const { report } = await startMonitor(dir, {
      checks: [{ preset: 'nginx-alive', pidFile: join(dir, 'nginx.pid') }, { preset: 'pure-ftpd-alive', intervalMs: 60_000 }],
    });
    const checks = await waitFor('first probes', () => report().checks.every((c) => c.lastRunAt !== null) && report().checks);
    expect(checks.map((c) => [c.id, c.kind, c.severity, c.summary])).toEqual([
      ['nginx-alive', 'process', 'critical', `process nginx (pid file ${join(dir, 'nginx.pid')})`],
      ['pure-ftpd-alive', 'process', 'critical', 'process pure-ftpd'],
    ]);
    expect(checks[0]!.state).toBe('failing');
    expect(checks[0]!.message).toContain('is missing');
  });

  it('a set from the control plane wins, is saved across restarts, and clear hands back to config', async () => {
    const dir = await tempDir();
    const fromConfig = { checks: [{ id: 'root', kind: 'disk', mounts: [dir], maxUsedPercent: 100, intervalMs: 60_000 }] };
    const first = await startMonitor(dir, fromConfig);
    const set = { checks: [{ id: 'web', kind: 'http', url: 'http://127.0.0.1:1/', intervalMs: 60_000 }] };
    const r1 = (await run(registry, 'monitor.checks.set', set, first.ctx)) as MonitorChecksResult;
    expect(r1.changed).toBe(true);
    expect(r1.source).toBe('control-plane');
    expect(r1.checks.map((c) => c.id)).toEqual(['web']);
    const again = (await run(registry, 'monitor.checks.set', set, first.ctx)) as MonitorChecksResult;
    expect(again.changed).toBe(false);
    expect(JSON.parse(await readFile(join(dir, 'checks.json'), 'utf8'))).toEqual(set);
    await started.pop()!.stop();

    const second = await startMonitor(dir, fromConfig);
    const listed = (await run(registry, 'monitor.checks.list', {}, second.ctx)) as MonitorChecksResult;
    expect(listed.source).toBe('control-plane');
    expect(listed.checks.map((c) => c.id)).toEqual(['web']);
    const cleared = (await run(registry, 'monitor.checks.clear', {}, second.ctx)) as MonitorChecksResult;
    expect(cleared).toMatchObject({ changed: true, source: 'config' });
    expect(cleared.checks.map((c) => c.id)).toEqual(['root']);
    await expect(readFile(join(dir, 'checks.json'))).rejects.toThrow(/ENOENT/);
  });

  it('an unchanged check keeps its state when the set is replaced; a removed firing check resolves', async () => {
    const dir = await tempDir();
    const emitted: Emitted = [];
    const down = { id: 'down', kind: 'tcp', host: '127.0.0.1', port: 1, intervalMs: 100, failuresBeforeFiring: 1, timeoutMs: 500 };
    const disk = { id: 'disk', kind: 'disk', mounts: [dir], maxUsedPercent: 100, intervalMs: 60_000 };
    const m = await startMonitor(dir, { checks: [down, disk] }, emitted);
    await waitFor('down fires', () => m.report().checks.find((c) => c.id === 'down')?.state === 'firing');
    const diskBefore = m.report().checks.find((c) => c.id === 'disk')!;
    await run(registry, 'monitor.checks.set', { checks: [disk] }, m.ctx);
    expect(m.report().checks).toEqual([diskBefore]);
    const last = emitted.at(-1)!.data as CheckStateEventData;
    expect(last).toMatchObject({ transition: 'resolved', reason: 'check removed', check: { id: 'down' } });
  });

  it('refuses a bad set naming the field and keeps the running one', async () => {
    const dir = await tempDir();
    const m = await startMonitor(dir, { checks: [{ id: 'a', kind: 'disk', maxUsedPercent: 99, intervalMs: 60_000 }] });
    const dup = { checks: [{ id: 'x', kind: 'tcp', host: 'h', port: 1 }, { id: 'x', kind: 'tcp', host: 'h', port: 2 }] };
    const err = await run(registry, 'monitor.checks.set', dup, m.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).details).toEqual({ issues: [{ field: 'payload.checks[1].id', rule: 'unique' }] });
    const noTarget = await run(registry, 'monitor.checks.set', { checks: [{ id: 'p', kind: 'process' }] }, m.ctx).catch((e: unknown) => e);
    expect((noTarget as ValidationError).details).toEqual({ issues: [{ field: 'payload.checks[0].name', rule: 'name or pidFile' }] });
    const badSchema = await run(registry, 'monitor.checks.set', { checks: [{ id: 'Bad Id', kind: 'tcp', host: 'h', port: 1 }] }, m.ctx).catch((e: unknown) => e);
    expect(badSchema).toBeInstanceOf(ValidationError);
    expect(m.report().checks.map((c) => c.id)).toEqual(['a']);
    await expect(readFile(join(dir, 'checks.json'))).rejects.toThrow(/ENOENT/);
  });

  it('a bad config section stops the agent with the field named', () => {
    expect(() => resolveModuleSettings([monitorModule], { monitor: { checks: [{ id: 'd', kind: 'disk', maxUsedPercent: 120 }] } })).toThrow(ValidationError);
    try {
      resolveModuleSettings([monitorModule], { monitor: { checks: [{ id: 'd', kind: 'disk', maxUsedPercent: 120 }] } });
    } catch (e) {
      expect(JSON.stringify((e as ValidationError).details)).toContain('monitor.checks');
    }
  });
});

describe('check validation errors', () => {
  it('name the field inside the check kind the value meant, not just "union"', () => {
    const bad = { checks: [{ id: 'svc', kind: 'tcp', host: 'h', port: 99999 }] };
    try {
      resolveModuleSettings([monitorModule], { monitor: bad });
      expect.unreachable();
    } catch (e) {
      expect((e as ValidationError).details).toEqual({ issues: [{ field: 'monitor.checks[0].port', rule: expect.stringContaining('65535') }] });
    }
  });
});
