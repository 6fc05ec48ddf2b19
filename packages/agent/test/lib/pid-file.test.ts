import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { livePidFrom, readPidFile } from '../../src/lib/pid-file.js';
import { tempDir } from '../modules/context.js';

describe('pid files', () => {
  it('reads the pid, tells a missing file from one without a pid, and names a live pid only while it runs', async () => {
    const dir = await tempDir();
    const file = join(dir, 'd.pid');
    expect(await readPidFile(file)).toEqual({ missing: true });
    await writeFile(file, 'not a pid\n');
    expect(await readPidFile(file)).toEqual({ invalid: true });
    expect(await livePidFrom(file)).toBeNull();

    const child = spawn('sleep', ['30']);
    const exited = new Promise((r) => child.once('exit', r));
    await writeFile(file, `${child.pid}\n`);
    expect(await readPidFile(file)).toEqual({ pid: child.pid });
    expect(await livePidFrom(file)).toBe(child.pid);
    child.kill('SIGKILL');
    await exited;
    expect(await livePidFrom(file)).toBeNull();
  });

  it('never names pid 1 as a daemon (a caller could signal init)', async () => {
    const file = join(await tempDir(), 'init.pid');
    await writeFile(file, '1\n');
    expect(await readPidFile(file)).toEqual({ pid: 1 });
    expect(await livePidFrom(file)).toBeNull();
  });
});
