import { describe, expect, it } from 'vitest';
import { configChanges } from '../src/config-diff.js';

describe('configChanges (steward config diff)', () => {
  it('lists added, removed and changed keys by dotted path, sorted; arrays compare whole', () => {
    const before = { logLevel: 'info', fs: { roots: ['/srv'], maxReadBytes: 1 }, modules: ['+nginx'] };
    const after = { logLevel: 'warn', fs: { roots: ['/srv'] }, modules: ['+nginx', '-task'], heartbeatIntervalMs: 5000 };
    expect(configChanges(before, after).map((c) => c.text)).toEqual([
      '- fs.maxReadBytes: 1',
      '+ heartbeatIntervalMs: 5000',
      '~ logLevel: "info" -> "warn"',
      '~ modules: ["+nginx"] -> ["+nginx","-task"]',
    ]);
  });

  it('nothing for equal configs, whatever their key order; an emptied section counts as a value', () => {
    expect(configChanges({ a: 1, b: { c: 2 } }, { b: { c: 2 }, a: 1 })).toEqual([]);
    expect(configChanges({}, {})).toEqual([]);
    expect(configChanges({ moduleSettings: { monitor: { checks: [] } } }, { moduleSettings: { monitor: {} } }).map((c) => c.text)).toEqual(['+ moduleSettings.monitor: {}', '- moduleSettings.monitor.checks: []']);
  });
});
