import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError, type FieldIssue } from '@steward/protocol';
import { DEFAULT_MODULES, loadConfigLayers, resolveConfig } from '../../src/config.js';
import { appliedConfigPath, readAppliedConfig, saveAppliedConfig } from '../../src/config/applied-store.js';
import { PushedConfigError, resolvePushedConfig } from '../../src/config/pushed.js';
import { tempDir } from '../modules/context.js';

async function layersWith(yaml: string, flags: Record<string, string> = {}) {
  const dir = await tempDir();
  const file = join(dir, 'agent.yaml');
  writeFileSync(file, yaml);
  return { dir, layers: loadConfigLayers({ config: file, dataDir: dir, ...flags }, {}) };
}

async function refusal(p: Promise<unknown>): Promise<{ message: string; issues: FieldIssue[] }> {
  const e = await p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PushedConfigError);
  return { message: (e as ValidationError).message, issues: ((e as ValidationError).details as { issues: FieldIssue[] }).issues };
}

describe('pushed config over the local layers', () => {
  it('beats the file, loses to the keys the file keeps local, and always to flags', async () => {
    const { layers } = await layersWith('logLevel: warn\nheartbeatIntervalMs: 4000\nfs:\n  maxReadBytes: 10\nexec:\n  allowShell: false\nkeepLocal: [exec]\n', { logLevel: 'error' });
    const { config, heartbeatMs } = await resolvePushedConfig(layers, {
      heartbeatIntervalMs: 2000,
      logLevel: 'debug',
      fs: { maxReadBytes: 99 },
      exec: { allowShell: true },
    });
    expect(config.heartbeatIntervalMs).toBe(2000);
    expect(heartbeatMs).toBe(2000);
    expect(config.fs.maxReadBytes).toBe(99);
    expect(config.exec.allowShell).toBe(false); // keepLocal: [exec]
    expect(config.logLevel).toBe('error'); // --log-level
    // Without a pushed config the local one is what it always was.
    expect(resolveConfig(layers)).toMatchObject({ heartbeatIntervalMs: 4000, fs: { maxReadBytes: 10 }, logLevel: 'error' });
  });

  it('keeps a module section local when keepLocal names the module', async () => {
    const { layers } = await layersWith('keepLocal: [heartbeatIntervalMs, monitor]\nheartbeatIntervalMs: 3000\nmonitor:\n  checks: [{kind: tcp, id: local, host: 127.0.0.1, port: 1}]\n');
    const r = await resolvePushedConfig(layers, {
      heartbeatIntervalMs: 9000,
      moduleSettings: { monitor: { checks: [{ kind: 'tcp', id: 'pushed', host: '127.0.0.1', port: 2 }] } },
    });
    expect((r.settings.monitor as { checks: { id: string }[] }).checks.map((c) => c.id)).toEqual(['local']);
    expect(r.heartbeatMs).toBe(3000);
  });

  it('applies +/- module changes over the local list and turns the module definitions in', async () => {
    const { layers } = await layersWith('modules: [+nginx]\n');
    const r = await resolvePushedConfig(layers, { modules: ['-task', '-shell'] });
    expect(r.config.modules).toEqual([...DEFAULT_MODULES.filter((m) => m !== 'task' && m !== 'shell'), 'nginx']);
    expect(r.modules.map((m) => m.name)).toEqual(r.config.modules);
    expect(r.heartbeatMs).toBeUndefined();
  });

  it('refuses a bad config naming every bad field, the module sections under moduleSettings', async () => {
    const { layers } = await layersWith('');
    const { message, issues } = await refusal(
      resolvePushedConfig(layers, {
        modules: ['+nosuch', '-alsonot'],
        moduleSettings: { nosuch: {}, monitor: { checks: [{ kind: 'tcp', id: 'a', host: 'h', port: 1, intervalMs: 5 }] } },
      }),
    );
    expect(issues.map((i) => i.field)).toEqual(['modules[0]', 'moduleSettings.nosuch']);
    expect(message).toContain('modules[0]');
    // The module settings are checked once the names are right.
    const second = await refusal(resolvePushedConfig(layers, { moduleSettings: { monitor: { checks: [{ kind: 'tcp', id: 'a', host: 'h', port: 1, intervalMs: 5 }] } } }));
    expect(second.issues.map((i) => i.field)).toEqual(['moduleSettings.monitor.checks[0].intervalMs']);
  });

  it('refuses what the pushed schema refuses, with the pushed field named', async () => {
    const { layers } = await layersWith('');
    const { issues } = await refusal(resolvePushedConfig(layers, { heartbeatIntervalMs: 10, fs: { roots: ['relative'] }, dataDir: '/x' }));
    expect(issues.map((i) => i.field).sort()).toEqual(['dataDir', 'fs.roots[0]', 'heartbeatIntervalMs']);
  });

  it('refuses a mixed module list from the pushed config', async () => {
    const { layers } = await layersWith('');
    const { issues } = await refusal(resolvePushedConfig(layers, { modules: ['sys', '+exec'] }));
    expect(issues).toEqual([expect.objectContaining({ field: 'modules' })]);
  });

  it('refuses a keepLocal entry that is not a pushable key or module', async () => {
    await expect(layersWith('keepLocal: [dataDir]\n')).rejects.toThrow(/keepLocal\[0\]/);
  });
});

describe('applied config store', () => {
  it('writes {revision, config, appliedAt} readable by the agent user only, and reads it back', async () => {
    const dir = await tempDir();
    expect(readAppliedConfig(dir)).toBeNull();
    await saveAppliedConfig(dir, { revision: '0123456789abcdef', config: { logLevel: 'debug' }, appliedAt: 5 });
    expect(statSync(appliedConfigPath(dir)).mode & 0o777).toBe(0o600);
    expect(readAppliedConfig(dir)).toEqual({ applied: { revision: '0123456789abcdef', config: { logLevel: 'debug' }, appliedAt: 5 } });
  });

  it('reports a damaged file instead of using it', async () => {
    const dir = await tempDir();
    writeFileSync(appliedConfigPath(dir), '{"revision": "0123456789abcdef", "conf');
    expect(readAppliedConfig(dir)).toEqual({ error: expect.stringContaining('not JSON') });
    writeFileSync(appliedConfigPath(dir), '{"revision": "nothex", "config": {}, "appliedAt": 1}');
    expect(readAppliedConfig(dir)).toEqual({ error: expect.stringContaining('not an applied config') });
  });
});
