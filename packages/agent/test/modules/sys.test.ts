import os from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModules, type ModuleRegistry } from '../../src/modules/registry.js';
import { run, tempDir, testConfig, testContext } from './context.js';

let registry: ModuleRegistry;
beforeAll(async () => {
  registry = await loadModules(['sys']);
});

describe('sys module', () => {
  it('sys.ping answers with the time and echoes only when asked', async () => {
    const ctx = testContext(testConfig(await tempDir()));
    const before = Date.now();
    const plain = await run(registry, 'sys.ping', {}, ctx);
    expect(plain.pong).toBe(true);
    expect(plain.at).toBeGreaterThanOrEqual(before);
    expect(plain.at).toBeLessThanOrEqual(Date.now());
    expect('echo' in plain).toBe(false);
    expect(await run(registry, 'sys.ping', { echo: 'marco' }, ctx)).toMatchObject({ pong: true, echo: 'marco' });
    expect(() => registry.validatePayload('sys.ping', { echo: 1 })).toThrow(/echo/);
  });

  it('sys.info reports this host and this agent process', async () => {
    const info = await run(registry, 'sys.info', {}, testContext(testConfig(await tempDir())));
    expect(info).toMatchObject({
      hostname: os.hostname(),
      arch: os.arch(),
      os: { platform: process.platform, release: os.release() },
      memory: { totalBytes: os.totalmem() },
      agent: { pid: process.pid, nodeVersion: process.version },
    });
    expect(info.cpu.cores).toBeGreaterThan(0);
    expect(info.uptimeSeconds).toBeGreaterThan(0);
  });

  it('both commands are safe to re-run', () => {
    expect(registry.types().map((t) => [t.type, t.safeToRerun])).toEqual([
      ['sys.info', true],
      ['sys.ping', true],
    ]);
  });
});
