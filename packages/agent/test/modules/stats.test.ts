import { compile, Stats } from '@steward/protocol';
import { describe, expect, it } from 'vitest';
import { loadModules } from '../../src/modules/registry.js';
import { run, tempDir, testConfig, testContext } from './context.js';

describe('stats module', () => {
  it('stats.get returns a snapshot that matches the protocol Stats schema', async () => {
    const registry = await loadModules(['stats']);
    const before = Date.now();
    const stats = compile(Stats).parse(await run(registry, 'stats.get', {}, testContext(testConfig(await tempDir()))));
    expect(stats.collectedAt).toBeGreaterThanOrEqual(before);
    expect(registry.get('stats.get')?.safeToRerun).toBe(true);
    expect(() => registry.validatePayload('stats.get', { verbose: true })).toThrow(/verbose/);
  });
});
