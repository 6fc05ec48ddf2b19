import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectCapabilities } from '../../src/system/capabilities.js';
import { tempDir } from '../modules/context.js';

async function program(dir: string, name: string, mode: number): Promise<void> {
  await writeFile(join(dir, name), '#!/bin/sh\n');
  await chmod(join(dir, name), mode);
}

describe('detectCapabilities', () => {
  it('lists executables found on PATH, GPU and Termux, sorted', async () => {
    const tmp = await tempDir();
    const bin = join(tmp, 'bin');
    const usrbin = join(tmp, 'usr-bin');
    await mkdir(bin);
    await mkdir(usrbin);
    await program(bin, 'python3', 0o755);
    await program(usrbin, 'bash', 0o755);
    await writeFile(join(usrbin, 'nvidia-smi'), '#!/bin/sh\necho "GPU 0: Tesla T4 (UUID: GPU-1)"\necho "GPU 1: Tesla T4 (UUID: GPU-2)"\n');
    await chmod(join(usrbin, 'nvidia-smi'), 0o755);
    await program(bin, 'ruby', 0o644); // not executable
    await mkdir(join(bin, 'perl')); // a directory, not a program
    const caps = await detectCapabilities({
      env: { PATH: `${join(tmp, 'missing')}:${bin}:${usrbin}`, PREFIX: '/data/data/com.termux/files/usr' },
      platform: 'android',
      arch: 'arm64',
    });
    expect(caps).toEqual(['android', 'arch:arm64', 'bash', 'gpu', 'gpu:nvidia', 'gpus:2', 'os:android', 'python3', 'termux']);
  });

  it('claims no GPU when nvidia-smi is there but lists none (no working driver)', async () => {
    const tmp = await tempDir();
    await writeFile(join(tmp, 'nvidia-smi'), '#!/bin/sh\necho "NVIDIA-SMI has failed" >&2\nexit 9\n');
    await chmod(join(tmp, 'nvidia-smi'), 0o755);
    expect(await detectCapabilities({ env: { PATH: tmp }, platform: 'linux', arch: 'x64' })).toEqual(['arch:x64', 'os:linux']);
  });

  it('reports only os and arch with an empty PATH', async () => {
    expect(await detectCapabilities({ env: { PATH: '' }, platform: 'linux', arch: 'x64' })).toEqual(['arch:x64', 'os:linux']);
  });

  it('finds sh on this machine', async () => {
    const caps = await detectCapabilities();
    expect(caps).toContain('sh');
    expect(caps).toContain(`os:${process.platform}`);
    expect([...caps].sort()).toEqual(caps);
  });
});
