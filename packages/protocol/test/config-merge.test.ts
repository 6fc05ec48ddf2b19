import { describe, expect, it } from 'vitest';
import { configRevision } from '../src/node/config-revision.js';
import { checkModuleList, effectiveConfig, type LayerDocument } from '../src/config-merge.js';

const web = { id: 'node_1', name: 'web-1', labels: { role: 'web', env: 'prod' } };
const db = { id: 'node_2', name: 'db-1', labels: { role: 'db' } };

const docs: LayerDocument[] = [
  { name: 'web', priority: 10, target: { selector: 'role=web' }, config: { logLevel: 'debug', fs: { maxReadBytes: 2048 }, moduleSettings: { monitor: { checks: [{ id: 'a' }] } } } },
  { name: 'base', priority: 0, target: { all: true }, config: { heartbeatIntervalMs: 5000, logLevel: 'info', fs: { roots: ['/srv'], maxReadBytes: 1024 }, modules: ['+nginx'] } },
  { name: 'one', priority: 20, target: { nodes: ['web-1'] }, config: { modules: ['-nginx', '+ftp'], moduleSettings: { monitor: { checks: [] } } } },
];

describe('effective config', () => {
  it('merges matching documents by priority (higher wins), deep for objects, arrays whole, and names each key\'s document', () => {
    const e = effectiveConfig(docs, web);
    expect(e.documents).toEqual(['base', 'web', 'one']);
    expect(e.config).toEqual({
      heartbeatIntervalMs: 5000,
      logLevel: 'debug',
      fs: { roots: ['/srv'], maxReadBytes: 2048 },
      modules: ['-nginx', '+ftp'],
      moduleSettings: { monitor: { checks: [] } },
    });
    expect(e.sources).toEqual({
      heartbeatIntervalMs: 'base',
      logLevel: 'web',
      'fs.roots': 'base',
      'fs.maxReadBytes': 'web',
      modules: 'one',
      'moduleSettings.monitor.checks': 'one',
    });
    // A node no selector or list names gets only what targets all.
    expect(effectiveConfig(docs, db).documents).toEqual(['base']);
  });

  it('ties in priority go by name; the revision depends on the result, not on key order or document order', () => {
    const a: LayerDocument = { name: 'a', priority: 1, target: { all: true }, config: { logLevel: 'warn' } };
    const b: LayerDocument = { name: 'b', priority: 1, target: { all: true }, config: { logLevel: 'error' } };
    expect(effectiveConfig([b, a], db).config.logLevel).toBe('error');
    const one = effectiveConfig([{ name: 'x', priority: 0, target: { all: true }, config: { logLevel: 'info', heartbeatIntervalMs: 2000 } }], db);
    const two = effectiveConfig([{ name: 'y', priority: 5, target: { all: true }, config: { heartbeatIntervalMs: 2000, logLevel: 'info' } }], db);
    expect(configRevision(one.config)).toBe(configRevision(two.config));
    expect(configRevision(one.config)).toMatch(/^[0-9a-f]{16}$/);
    expect(configRevision(effectiveConfig([], db).config)).toBe(configRevision({}));
  });

  it('module changes combine over earlier changes, apply to an earlier full list, and a full list replaces', () => {
    const m = (name: string, priority: number, modules: string[]): LayerDocument => ({ name, priority, target: { all: true }, config: { modules } });
    expect(effectiveConfig([m('a', 0, ['+nginx', '-task']), m('b', 1, ['-nginx'])], db).config.modules).toEqual(['-task', '-nginx']);
    expect(effectiveConfig([m('a', 0, ['sys', 'exec', 'nginx']), m('b', 1, ['-nginx', '+fs'])], db).config.modules).toEqual(['sys', 'exec', 'fs']);
    expect(effectiveConfig([m('a', 0, ['+nginx']), m('b', 1, ['sys'])], db).config.modules).toEqual(['sys']);
  });

  it('a later scalar replaces an earlier object and forgets its sources, and the other way round', () => {
    const e = effectiveConfig(
      [
        { name: 'a', priority: 0, target: { all: true }, config: { moduleSettings: { x: { deep: { k: 1 } } } } },
        { name: 'b', priority: 1, target: { all: true }, config: { moduleSettings: { x: 5 } } },
      ],
      db,
    );
    expect(e.config.moduleSettings).toEqual({ x: 5 });
    expect(e.sources).toEqual({ 'moduleSettings.x': 'b' });
  });

  it('refuses a module list that mixes a full list with changes, naming the field', () => {
    expect(() => checkModuleList(['sys', '+nginx'])).toThrow(expect.objectContaining({ code: 'validation_failed', details: { issues: [expect.objectContaining({ field: 'config.modules' })] } }));
    expect(() => checkModuleList(['+nginx', '-ftp'])).not.toThrow();
    expect(() => checkModuleList(['sys', 'exec'])).not.toThrow();
  });
});
