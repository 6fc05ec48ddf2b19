import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { compile, Inventory } from '@steward/protocol';
import { describe, expect, it } from 'vitest';
import { loadModules } from '../../src/modules/registry.js';
import { collectInventory, readDistro } from '../../src/system/inventory.js';
import { tempDir, testConfig } from '../modules/context.js';

describe('collectInventory', () => {
  it('describes the node per the protocol Inventory schema, with config overrides', async () => {
    const tmp = await tempDir();
    const osRelease = join(tmp, 'os-release');
    await writeFile(osRelease, 'NAME="Test"\nPRETTY_NAME="Test \\"Linux\\" 1.0"\nID=test\n');
    const config = testConfig(tmp, (c) => {
      c.resources = { cpuCores: 3, memoryBytes: 12345 };
      c.capabilities = ['zone:a', 'sh'];
    });
    const registry = await loadModules(['sys', 'fs']);
    const inv = compile(Inventory).parse(
      await collectInventory(config, registry, '9.9.9', { osReleaseFiles: [osRelease], env: { PATH: '' } }),
    );
    expect(inv).toMatchObject({
      hostname: os.hostname(),
      agentVersion: '9.9.9',
      arch: os.arch(),
      os: { platform: process.platform, release: os.release(), distro: 'Test "Linux" 1.0' },
      cpuCores: 3,
      memoryBytes: 12345,
      modules: ['sys', 'fs'],
    });
    expect(inv.capabilities).toEqual(['arch:' + os.arch(), 'os:' + process.platform, 'sh', 'zone:a'].sort());
    expect(inv.commandTypes.map((t) => t.type)).toEqual(registry.types().map((t) => t.type));
    expect(inv.addresses).not.toContain('127.0.0.1');
    expect(inv.addresses).not.toContain('::1');
  });

  it('reports the machine itself without overrides', async () => {
    const tmp = await tempDir();
    const inv = await collectInventory(testConfig(tmp), await loadModules(['sys']), '1.0.0');
    compile(Inventory).parse(inv);
    expect(inv.cpuCores).toBe(os.availableParallelism());
    expect(inv.memoryBytes).toBe(os.totalmem());
    if (process.platform === 'linux') expect(inv.disks.length).toBeGreaterThan(0);
  });
});

describe('readDistro', () => {
  it('takes the first os-release file that exists, quoted or not', async () => {
    const tmp = await tempDir();
    await writeFile(join(tmp, 'b'), 'PRETTY_NAME=Plain\n');
    expect(await readDistro([join(tmp, 'a'), join(tmp, 'b')])).toBe('Plain');
    await writeFile(join(tmp, 'c'), "PRETTY_NAME='Single Quoted'\n");
    expect(await readDistro([join(tmp, 'c')])).toBe('Single Quoted');
    expect(await readDistro([join(tmp, 'none')])).toBeUndefined();
  });
});
