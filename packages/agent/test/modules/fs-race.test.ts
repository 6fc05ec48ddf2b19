import { spawn } from 'node:child_process';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AgentConfig } from '../../src/config.js';
import { PINNING } from '../../src/lib/pinned.js';
import { loadModules, type ModuleRegistry } from '../../src/modules/registry.js';
import { run, tempDir, testConfig, testContext } from './context.js';

/**
 * A local user who can write under an fs root swaps a directory for a symlink to elsewhere,
 * over and over, while the agent works on a file below it. Each operation is checked (confine)
 * and then acts on the inode it opened with O_NOFOLLOW and re-checked through /proc/self/fd, so
 * whatever the timing, nothing outside the root is touched.
 */
const SWAPPER = `
const fs = require('node:fs');
const [root, outside, rounds] = [process.argv[1], process.argv[2], Number(process.argv[3])];
const d = root + '/d';
for (let i = 0; i < rounds; i++) {
  fs.renameSync(d, d + '.real');            // the real directory steps aside
  fs.symlinkSync(outside, d + '.link');
  fs.renameSync(d + '.link', d);            // d now leads outside
  fs.unlinkSync(d);
  fs.renameSync(d + '.real', d);            // and back
}
process.stdout.write('done');
`;

let registry: ModuleRegistry;
beforeAll(async () => {
  registry = await loadModules(['fs']);
});

describe.skipIf(!PINNING)('fs operations raced by a symlink swap', () => {
  it('chmod, chown, write, read and remove never act outside the root', { timeout: 120_000 }, async () => {
    const tmp = await tempDir();
    const root = join(tmp, 'root');
    const outside = join(tmp, 'outside');
    await mkdir(join(root, 'd'), { recursive: true });
    await mkdir(outside);
    const victim = join(outside, 'f');
    await writeFile(victim, 'outside, untouched');
    await chmod(victim, 0o600);
    const inside = join(root, 'd', 'f');
    await writeFile(inside, 'inside');
    const ctx = testContext(testConfig(tmp, (c: AgentConfig) => (c.fs.roots = [root])));

    const swapper = spawn(process.execPath, ['-e', SWAPPER, root, outside, '4000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let swapping = true;
    const swapped = new Promise<number | null>((resolve) => swapper.on('exit', (code) => ((swapping = false), resolve(code))));
    const outcomes = new Map<string, number>();
    const note = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
    let rounds = 0;
    // Bounded: the swapper ends after its rounds; the loop ends with it (or after 3,000 of ours).
    while (swapping && rounds < 3000) {
      rounds++;
      const ops: [string, unknown][] = [
        ['fs.write', { path: inside, content: 'pwned' }],
        ['fs.chmod', { path: inside, mode: rounds % 2 ? '0777' : '0644' }],
        ['fs.chown', { path: inside, uid: 12345, gid: 12345 }],
        ['fs.read', { path: inside }],
        ['fs.remove', { path: inside }],
      ];
      for (const [type, payload] of ops) {
        try {
          const r = (await run(registry, type, payload, ctx)) as { content?: string };
          if (type === 'fs.read') expect(r.content).not.toBe('outside, untouched');
          note(`${type}:ok`);
        } catch (e) {
          note(`${type}:${(e as { code?: string }).code ?? 'error'}`);
        }
      }
    }
    expect(await swapped).toBe(0);
    // The positive marker: operations did run inside during the race (it was not all refusals).
    expect([...outcomes].filter(([k]) => k.endsWith(':ok')).length).toBeGreaterThan(0);
    const st = await stat(victim);
    expect((st.mode & 0o7777).toString(8)).toBe('600');
    expect([st.uid, st.gid]).not.toContain(12345);
    expect(await readFile(victim, 'utf8')).toBe('outside, untouched');
    // Only the expected outcomes: done, refused as changed/outside, or the entry briefly missing.
    for (const k of outcomes.keys()) expect(k).toMatch(/:(ok|path_changed|path_outside_roots|not_found|not_a_directory|symlink_loop)$/);
  });
});
