import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Type, type CommandResultMessage } from '@steward/protocol';
import { ConfigApplyError, applyLive, type InForce, type LiveApplyDeps } from '../../src/config/live-apply.js';
import { Executor } from '../../src/executor.js';
import { Journal } from '../../src/journal.js';
import { ModuleHost } from '../../src/modules/host.js';
import { createRegistry } from '../../src/modules/registry.js';
import { defineCommand, defineModule, type AgentModule } from '../../src/modules/types.js';
import { waitFor } from '../../../../test/support/wait.js';
import { tempDir, testConfig, testLink } from '../modules/context.js';

const journals: Journal[] = [];
afterEach(() => {
  for (const j of journals.splice(0)) j.close();
});

/** A module whose lifecycle the test records: starts (with settings), stops, reconfigures. */
function recorded(name: string, log: string[], o: { failStart?: boolean; reconfigurable?: boolean } = {}): AgentModule {
  return defineModule({
    name,
    description: name,
    settings: Type.Object({ v: Type.Integer({ default: 0 }) }),
    commands: [
      defineCommand({ type: `${name}.go`, description: 'go', payload: Type.Object({}), safeToRerun: true, handler: async () => 'ok' }),
      defineCommand({
        type: `${name}.hang`,
        description: 'runs until cancelled',
        payload: Type.Object({}),
        safeToRerun: true,
        handler: (_p, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')))),
      }),
    ],
    async start(rt) {
      log.push(`start ${name} ${JSON.stringify(rt.settings)}`);
      if (o.failStart) throw new Error(`${name} cannot start`);
      return {
        stop: async () => void log.push(`stop ${name}`),
        ...(o.reconfigurable ? { reconfigure: async (s: unknown) => void log.push(`reconfigure ${name} ${JSON.stringify(s)}`) } : {}),
      };
    },
  });
}

async function harness(mods: AgentModule[], drainMs = 1000) {
  const dir = await tempDir();
  const journal = new Journal(dir);
  journals.push(journal);
  const config = testConfig(dir);
  const log = pino({ level: 'silent' });
  const registry = createRegistry(mods);
  const results: CommandResultMessage[] = [];
  let host: ModuleHost;
  const executor = new Executor(journal, registry, config, log, {
    started: () => {},
    finished: (r) => results.push(r),
    module: (name) => host.instance(name),
    emit: () => {},
    progress: () => {},
    output: () => {},
  });
  host = new ModuleHost(registry, executor, { config: () => config, log, link: testLink(), emit: () => {}, drainMs });
  const heartbeats: (number | undefined)[] = [];
  const deps: LiveApplyDeps = { host, executor, log, heartbeat: (ms) => heartbeats.push(ms), capabilities: () => {}, servers: () => {} };
  const inForce = (modules: AgentModule[], settings: Record<string, unknown>, heartbeatMs?: number): InForce => ({
    config: { ...config, modules: modules.map((m) => m.name), logLevel: heartbeatMs ? 'fatal' : 'silent' },
    settings,
    modules,
    heartbeatMs,
    revision: heartbeatMs ? '00000000000000aa' : null,
    pushed: {},
  });
  const start = (type: string) => {
    const id = `cmd_${type}_${results.length}_${Math.random().toString(36).slice(2)}`;
    executor.dispatch({ id, type, payload: {}, timeoutMs: 5000, createdAt: Date.now() });
    return () => waitFor(`the result of ${type}`, () => results.find((r) => r.commandId === id));
  };
  const run = (type: string) => start(type)();
  return { host, registry, deps, inForce, heartbeats, log, run, start, executor };
}

describe('live apply', () => {
  it('rolls everything back when a module fails to start: never half-applied', async () => {
    const events: string[] = [];
    const alpha = recorded('alpha', events);
    const gamma = recorded('gamma', events, { reconfigurable: true });
    const beta = recorded('beta', events, { failStart: true });
    const h = await harness([alpha, gamma]);
    await h.host.startAll({ alpha: { v: 1 }, gamma: { v: 1 } });
    const prev = h.inForce([alpha, gamma], { alpha: { v: 1 }, gamma: { v: 1 } });
    const next = h.inForce([gamma, beta], { gamma: { v: 2 }, beta: { v: 0 } }, 2000);

    const err = await applyLive(h.deps, prev, next).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigApplyError);
    expect((err as ConfigApplyError).code).toBe('config_rejected');
    expect((err as Error).message).toContain('beta cannot start');
    expect(events).toEqual([
      'start alpha {"v":1}',
      'start gamma {"v":1}',
      'stop alpha', // turned off
      'reconfigure gamma {"v":2}',
      'start beta {"v":0}', // throws
      'reconfigure gamma {"v":1}', // undone, in reverse
      'start alpha {"v":1}',
    ]);
    expect(h.registry.modules().sort()).toEqual(['alpha', 'gamma']);
    expect(h.host.settings('gamma')).toEqual({ v: 1 });
    // Nothing after the modules changed: no heartbeat change, alpha's commands run again.
    expect(h.heartbeats).toEqual([]);
    expect(h.log.level).toBe('silent');
    expect((await h.run('alpha.go')).state).toBe('succeeded');
  });

  it('turns modules off and on; an off module answers module_disabled, a plugin removed answers unknown', async () => {
    const events: string[] = [];
    const alpha = recorded('alpha', events);
    const beta = recorded('beta', events);
    const h = await harness([alpha]);
    await h.host.startAll({ alpha: { v: 0 } });
    const prev = h.inForce([alpha], { alpha: { v: 0 } });
    const next = h.inForce([beta], { beta: { v: 3 } }, 2500);
    await applyLive(h.deps, prev, next);
    expect(h.registry.modules()).toEqual(['beta']);
    expect(h.heartbeats).toEqual([2500]);
    expect(h.log.level).toBe('fatal'); // the log level follows the config
    expect((await h.run('alpha.go')).error?.code).toBe('module_disabled');
    expect((await h.run('beta.go')).state).toBe('succeeded');
    await applyLive(h.deps, next, prev);
    expect(h.log.level).toBe('silent');
    expect((await h.run('alpha.go')).state).toBe('succeeded');
    expect((await h.run('beta.go')).error?.code).toBe('module_disabled');
    // What plugins do: taken out without refusing, the type is simply unknown.
    await h.host.disable('alpha', { keepRefusing: false });
    expect((await h.run('alpha.go')).error?.code).toBe('unknown_command_type');
    expect(events).toEqual(['start alpha {"v":0}', 'stop alpha', 'start beta {"v":3}', 'stop beta', 'start alpha {"v":0}', 'stop alpha']);
  });

  it('restarts a module without reconfigure with its new settings, and leaves unchanged ones alone', async () => {
    const events: string[] = [];
    const delta = recorded('delta', events);
    const gamma = recorded('gamma', events);
    const h = await harness([delta, gamma]);
    await h.host.startAll({ delta: { v: 1 }, gamma: { v: 1 } });
    await applyLive(h.deps, h.inForce([delta, gamma], { delta: { v: 1 }, gamma: { v: 1 } }), h.inForce([delta, gamma], { delta: { v: 2 }, gamma: { v: 1 } }));
    expect(events).toEqual(['start delta {"v":1}', 'start gamma {"v":1}', 'stop delta', 'start delta {"v":2}']);
    expect(h.host.settings('delta')).toEqual({ v: 2 });
    expect((await h.run('delta.go')).state).toBe('succeeded');
  });

  it('cancels a running command of a module turned off once the drain grace is over, then stops the module', async () => {
    const events: string[] = [];
    const alpha = recorded('alpha', events);
    const h = await harness([alpha], 200);
    await h.host.startAll({ alpha: { v: 0 } });
    const hanging = h.start('alpha.hang');
    expect(h.executor.runningIds()).toHaveLength(1);
    await applyLive(h.deps, h.inForce([alpha], { alpha: { v: 0 } }), h.inForce([], {}));
    const result = await hanging();
    expect(result).toMatchObject({ state: 'cancelled', error: { code: 'cancelled', message: expect.stringContaining('module alpha was turned off') } });
    // The module stopped, and nothing of it runs any more.
    expect(events).toEqual(['start alpha {"v":0}', 'stop alpha']);
    expect(h.executor.runningIds()).toEqual([]);
  });
});
