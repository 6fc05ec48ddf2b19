import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, tempDir, type ServerProc } from '../../../test/support/processes.js';
import { BIN, cleanEnv, runCli } from './helpers/cli.js';

const run = promisify(execFile);

describe('progress bars: on a terminal only', { timeout: 90_000 }, () => {
  let server: ServerProc;
  const dir = tempDir('steward-progress-');
  const file = join(dir, 'blob.bin');
  const env = () => cleanEnv({ STEWARD_SERVER: server.url, STEWARD_TOKEN: server.token });

  beforeAll(async () => {
    server = await startServerProcess();
    writeFileSync(file, randomBytes(4 * 1024 * 1024));
  }, 60_000);

  afterAll(async () => {
    await server?.kill();
  });

  /** Runs the CLI under `script`, which gives it a terminal; returns what the terminal showed. */
  const inTerminal = async (args: string[]) =>
    (await run('script', ['-qfec', [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' '), '/dev/null'], { env: env(), timeout: 60_000 })).stdout;

  it('artifacts put and get draw a bar on a terminal, and nothing when piped', async () => {
    const shown = await inTerminal(['artifacts', 'put', file]);
    expect(shown).toMatch(/upload \[[#-]{24}\] \d+% /);
    const sha = /([0-9a-f]{64})\s+4Mi/.exec(shown)?.[1];
    expect(sha).toBeDefined();
    const out = join(dir, 'back.bin');
    const got = await inTerminal(['artifacts', 'get', sha!, '-o', out]);
    expect(got).toMatch(/download \[[#-]{24}\] \d+% /);
    expect(readFileSync(out).equals(readFileSync(file))).toBe(true);

    const piped = await runCli(['artifacts', 'put', file], { env: env() });
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe('');
    expect(piped.stdout).toBe(`${sha}  4Mi  (already stored)\n`);
    const pipedGet = await runCli(['artifacts', 'get', sha!, '-o', join(dir, 'again.bin')], { env: env() });
    expect(pipedGet.stderr).toBe(`wrote 4Mi to ${join(dir, 'again.bin')}\n`);
  });
});
