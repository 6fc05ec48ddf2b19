import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compile, Type, UnknownCommandTypeError, ValidationError } from '@steward/protocol';
import { describe, expect, it } from 'vitest';
import { availableModules, createRegistry, importBuiltinModule, loadModules } from '../../src/modules/registry.js';
import { defineCommand, defineModule } from '../../src/modules/types.js';

const command = (type: string) =>
  defineCommand({ type, description: type, payload: Type.Object({}), safeToRerun: true, handler: async () => null });

async function thrown(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('loadModules', () => {
  it('finds the built-in module folders', async () => {
    expect(await availableModules()).toEqual(expect.arrayContaining(['exec', 'fs', 'stats', 'sys']));
  });

  it('lists every module folder on disk, and only those (a bundle cannot read folders)', async () => {
    const dir = join(import.meta.dirname, '../../src/modules');
    const onDisk = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'index.ts')))
      .map((e) => e.name)
      .sort();
    expect(await availableModules()).toEqual(onDisk);
    for (const name of onDisk) expect((await importBuiltinModule(name)).name).toBe(name);
  });

  it('loads only the modules asked for, in that order', async () => {
    const registry = await loadModules(['sys', 'stats']);
    expect(registry.modules()).toEqual(['sys', 'stats']);
    expect(registry.types().map((t) => t.type)).toEqual(['stats.get', 'sys.info', 'sys.ping']);
    expect(registry.get('exec.run')).toBeUndefined();
  });

  it('names an unknown module and lists the available ones', async () => {
    const e = await thrown(loadModules(['sys', 'nope']));
    expect(e).toBeInstanceOf(ValidationError);
    const err = e as ValidationError;
    expect(err.message).toContain('"nope"');
    const listed = /available modules: (.*)$/.exec(err.message)?.[1]?.split(', ') ?? [];
    expect(listed).toEqual(expect.arrayContaining(['exec', 'fs', 'stats', 'sys']));
    expect(listed).toEqual([...listed].sort());
    expect(err.details).toEqual({ issues: [expect.objectContaining({ field: 'modules[1]' })] });
  });

  it('refuses names that could reach outside the modules folder', async () => {
    for (const name of ['../config', 'Sys', 'sys/index', '']) {
      expect(await thrown(loadModules([name]))).toBeInstanceOf(ValidationError);
    }
  });
});

describe('module registry', () => {
  it('describes each command type with its module, rerun safety and a plain JSON payload schema', async () => {
    const registry = await loadModules(['sys', 'exec', 'fs', 'stats']);
    const types = registry.types();
    const run = types.find((t) => t.type === 'exec.run')!;
    expect(run).toMatchObject({ module: 'exec', safeToRerun: false });
    expect(types.find((t) => t.type === 'sys.ping')).toMatchObject({ module: 'sys', safeToRerun: true });
    const schema = run.payloadSchema as Record<string, unknown>;
    expect(Object.getOwnPropertySymbols(schema)).toEqual([]);
    expect(schema).toMatchObject({ type: 'object', additionalProperties: false, required: ['command'] });
    expect(JSON.parse(JSON.stringify(types))).toEqual(types);
  });

  it('throws UnknownCommandTypeError listing the known types', async () => {
    const registry = await loadModules(['sys']);
    const e = (() => {
      try {
        registry.validatePayload('sys.reboot', {});
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(UnknownCommandTypeError);
    expect((e as UnknownCommandTypeError).code).toBe('unknown_command_type');
    expect((e as UnknownCommandTypeError).details).toEqual({ type: 'sys.reboot', known: ['sys.info', 'sys.ping'] });
  });

  it('validates payloads naming each bad field, and treats a missing payload as {}', async () => {
    const registry = await loadModules(['sys', 'fs']);
    expect(registry.validatePayload('sys.ping', undefined)).toEqual({});
    expect(registry.validatePayload('sys.ping', { echo: 'hi' })).toEqual({ echo: 'hi' });
    try {
      registry.validatePayload('fs.chmod', { path: 5, mode: '0644', extra: true });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      const fields = ((e as ValidationError).details as { issues: { field: string }[] }).issues.map((i) => i.field);
      expect(fields).toEqual(expect.arrayContaining(['path', 'extra']));
      expect((e as Error).message).toContain('fs.chmod');
    }
  });

  it('refuses the same command type from two modules', () => {
    const a = defineModule({ name: 'alpha', description: '', commands: [command('alpha.go')] });
    const b = defineModule({ name: 'alpha', description: '', commands: [command('alpha.go')] });
    expect(() => createRegistry([a, b])).toThrow(/alpha\.go/);
  });

  it('refuses command types outside the module namespace', () => {
    const mod = defineModule({ name: 'alpha', description: '', commands: [command('beta.go')] });
    expect(() => createRegistry([mod])).toThrow(/beta\.go/);
  });

  it('keeps the core payload schemas compilable', async () => {
    const registry = await loadModules(['sys', 'exec', 'fs', 'stats']);
    for (const t of registry.types()) expect(() => compile(registry.get(t.type)!.payload), t.type).not.toThrow();
  });
});

describe('module registry at run time', () => {
  it('adds and removes modules, telling listeners after each change', () => {
    const registry = createRegistry([defineModule({ name: 'alpha', description: '', commands: [command('alpha.go')] })]);
    let changes = 0;
    const off = registry.onChange(() => changes++);
    registry.add(defineModule({ name: 'beta', description: '', commands: [command('beta.go')] }));
    expect(registry.modules()).toEqual(['alpha', 'beta']);
    expect(registry.types().map((t) => t.type)).toEqual(['alpha.go', 'beta.go']);
    expect(registry.moduleOf('beta.go')).toBe('beta');
    expect(registry.validatePayload('beta.go', {})).toEqual({});
    expect(changes).toBe(1);
    expect(registry.remove('alpha')?.name).toBe('alpha');
    expect(registry.get('alpha.go')).toBeUndefined();
    expect(() => registry.validatePayload('alpha.go', {})).toThrow(UnknownCommandTypeError);
    expect(changes).toBe(2);
    expect(registry.remove('alpha')).toBeUndefined();
    expect(changes).toBe(2);
    off();
    registry.add(defineModule({ name: 'alpha', description: '', commands: [command('alpha.go')] }));
    expect(changes).toBe(2);
  });

  it('refuses a bad or colliding module and changes nothing', () => {
    const registry = createRegistry([defineModule({ name: 'alpha', description: '', commands: [command('alpha.go')] })]);
    let changes = 0;
    registry.onChange(() => changes++);
    expect(() => registry.add(defineModule({ name: 'alpha', description: '', commands: [] }))).toThrow(/alpha is loaded already/);
    expect(() => registry.add(defineModule({ name: 'beta', description: '', commands: [command('alpha.go')] }))).toThrow(/beta\.verb/);
    expect(() => registry.add({ name: 'Bad', description: '', commands: [] })).toThrow(/module needs a name/);
    expect(registry.modules()).toEqual(['alpha']);
    expect(changes).toBe(0);
  });
});
