import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../../test/support/wait.js';
import { PluginManager, type PluginHost } from '../../src/plugins/manager.js';
import type { AgentModule } from '../../src/modules/types.js';
import { tempDir, testLink } from '../modules/context.js';
import { copyExample, pluginSource, writePlugin } from './fixtures.js';

const log = pino({ level: 'silent' });

/** A host that keeps what is added, as the agent's registry would, and the events sent. */
function recordingHost(reserved: string[] = ['sys']) {
  const mods = new Map<string, AgentModule>();
  const events: { event: string; data: Record<string, unknown> }[] = [];
  const host: PluginHost = {
    reserved: new Set(reserved),
    add: async (mod) => void mods.set(mod.name, mod),
    remove: async (name) => void mods.delete(name),
    event: (event, data) => void events.push({ event, data }),
  };
  return { host, mods, events };
}

async function run(mod: AgentModule | undefined, type: string, payload: unknown = {}): Promise<unknown> {
  const def = mod?.commands.find((c) => c.type === type);
  if (!def) throw new Error(`no ${type}`);
  return def.handler(payload as never, { link: testLink('http://127.0.0.1:1', 'credential') } as never);
}

const managers: PluginManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.stop()));
});

async function startManager(dir: string, host: PluginHost, dataDir: string): Promise<PluginManager> {
  const m = new PluginManager({ dir, snapshots: join(dataDir, 'plugin-code'), host, log, debounceMs: 50, rescanMs: 60_000 });
  managers.push(m);
  await m.start();
  return m;
}

describe('plugin manager', () => {
  it('loads the example plugin at start and runs its handler', async () => {
    const data = await tempDir();
    const dir = join(data, 'plugins');
    const { host, mods, events } = recordingHost();
    mkdirSync(dir, { recursive: true });
    copyExample(dir);
    const m = await startManager(dir, host, data);
    expect(m.names()).toEqual(['hello']);
    expect(await run(mods.get('hello'), 'hello.greet', { name: 'ada' })).toEqual({ greeting: 'hello, ada', node: 'test-node' });
    expect(events).toEqual([{ event: 'plugin.loaded', data: { name: 'hello', version: '1.0.0', types: ['hello.greet'] } }]);
    expect(m.report()).toEqual({ plugins: [{ name: 'hello', state: 'loaded', version: '1.0.0' }] });
  });

  it('follows the folder: a new plugin loads, a changed one runs its new code, a removed one goes', async () => {
    const data = await tempDir();
    const dir = join(data, 'plugins');
    const { host, mods } = recordingHost();
    const m = await startManager(dir, host, data);
    expect(m.names()).toEqual([]);
    writePlugin(dir, 'alpha', pluginSource('alpha', 'one'));
    await waitFor('alpha loaded', () => mods.has('alpha'));
    expect(await run(mods.get('alpha'), 'alpha.answer')).toEqual({ answer: 'one' });

    writePlugin(dir, 'alpha', pluginSource('alpha', 'two'), { version: '2.0.0' });
    await waitFor('alpha 2 loaded', () => m.report().plugins[0]?.version === '2.0.0');
    expect(await run(mods.get('alpha'), 'alpha.answer')).toEqual({ answer: 'two' });

    rmSync(join(dir, 'alpha'), { recursive: true });
    await waitFor('alpha unloaded', () => !mods.has('alpha'));
    expect(m.report()).toEqual({ plugins: [] });
  });

  it('does not load a half-copied plugin until every checksum matches', async () => {
    const data = await tempDir();
    const dir = join(data, 'plugins');
    const { host, mods } = recordingHost();
    const m = await startManager(dir, host, data);
    const whole = pluginSource('beta', 'whole');
    // The manifest arrived first; index.mjs is cut short (the copy is still running).
    writePlugin(dir, 'beta', whole.slice(0, 40), { manifestOf: whole });
    await m.scan();
    expect(mods.has('beta')).toBe(false);
    expect(m.report().plugins).toEqual([{ name: 'beta', state: 'incomplete', reason: 'index.mjs does not match its SHA-256 in plugin.json (yet)' }]);
    writeFileSync(join(dir, 'beta', 'index.mjs'), whole);
    await waitFor('beta loaded', () => mods.has('beta'));
    expect(await run(mods.get('beta'), 'beta.answer')).toEqual({ answer: 'whole' });
  });

  it('refuses plugins that throw at import, have a bad shape, or take a built-in name, and keeps going', async () => {
    const data = await tempDir();
    const dir = join(data, 'plugins');
    writePlugin(dir, 'boom', "throw new Error('kaboom at import');\n");
    writePlugin(dir, 'shape', "export default { name: 'shape', description: 'x', commands: [{ type: 'other.verb', description: 'x', payload: {}, safeToRerun: true, handler() {} }] };\n");
    writePlugin(dir, 'schema', "export default { name: 'schema', description: 'x', commands: [{ type: 'schema.verb', description: 'x', payload: { type: 'object' }, safeToRerun: true, handler() {} }] };\n");
    writePlugin(dir, 'factory', "export default () => { throw new Error('factory says no'); };\n");
    writePlugin(dir, 'sys', pluginSource('sys', 'mine'));
    writePlugin(dir, 'fine', pluginSource('fine', 'ok'));
    const { host, mods, events } = recordingHost();
    const m = await startManager(dir, host, data);
    expect([...mods.keys()]).toEqual(['fine']);
    const reasons = Object.fromEntries(m.report().plugins.filter((p) => p.state === 'invalid').map((p) => [p.name, p.reason]));
    expect(reasons).toEqual({
      boom: 'plugin "boom": loading it threw: kaboom at import',
      factory: 'plugin "factory": loading it threw: factory says no',
      schema: 'plugin "schema": commands[0].payload must be a schema built with the Type the factory is given',
      shape: 'plugin "shape": commands[0].type "other.verb" must look like shape.verb',
      sys: 'plugin "sys": a built-in module has that name',
    });
    expect(events.filter((e) => e.event === 'plugin.invalid').map((e) => e.data.code)).toEqual(Array(5).fill('plugin_invalid'));
    // A rescan of the same bytes does not try (or report) them again.
    await m.scan();
    expect(events.filter((e) => e.event === 'plugin.invalid')).toHaveLength(5);
    // Fixed: it loads.
    writePlugin(dir, 'boom', pluginSource('boom', 'fixed'));
    await waitFor('boom loaded', () => mods.has('boom'));
  });

  it('keeps the running version when an update does not import', async () => {
    const data = await tempDir();
    const dir = join(data, 'plugins');
    writePlugin(dir, 'gamma', pluginSource('gamma', 'v1'));
    const { host, mods } = recordingHost();
    const m = await startManager(dir, host, data);
    writePlugin(dir, 'gamma', 'export default 42;\n', { version: '2.0.0' });
    await waitFor('gamma 2 refused', () => m.report().plugins[0]?.state === 'invalid');
    expect(m.report().plugins[0]).toMatchObject({ version: '1.0.0', reason: 'plugin "gamma": index.mjs must default-export a module object or a factory ({ Type }) => module' });
    expect(await run(mods.get('gamma'), 'gamma.answer')).toEqual({ answer: 'v1' });
  });

  it('fails only the command when a handler throws or returns what JSON cannot carry', async () => {
    const data = await tempDir();
    const dir = join(data, 'plugins');
    writePlugin(
      dir,
      'oops',
      `export default ({ Type, HandlerFailure }) => ({ name: 'oops', description: 'x', commands: [
        { type: 'oops.sync', description: 'x', payload: Type.Object({}), safeToRerun: true, handler() { throw new Error('sync throw'); } },
        { type: 'oops.big', description: 'x', payload: Type.Object({}), safeToRerun: true, handler: async () => ({ n: 1n }) },
        { type: 'oops.coded', description: 'x', payload: Type.Object({}), safeToRerun: true, handler: async () => { throw new HandlerFailure('too_cold', 'it is too cold', { result: { celsius: -40 } }); } },
      ] });\n`,
    );
    const { host, mods } = recordingHost();
    await startManager(dir, host, data);
    await expect(run(mods.get('oops'), 'oops.sync')).rejects.toThrow('sync throw');
    await expect(run(mods.get('oops'), 'oops.big')).rejects.toThrow(/BigInt/);
    await expect(run(mods.get('oops'), 'oops.coded')).rejects.toMatchObject({ code: 'too_cold', result: { celsius: -40 }, state: 'failed' });
  });
});
