import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAgent, startServerProcess, tempDir, type AgentProc, type ServerProc } from '../../../test/support/processes.js';
import { BIN, cleanEnv, runCli } from './helpers/cli.js';

const run = promisify(execFile);

describe('progress bars: on a terminal only', { timeout: 90_000 }, () => {
  let server: ServerProc;
  let agent: AgentProc | undefined;
  const dir = tempDir('steward-progress-');
  const file = join(dir, 'blob.bin');
  const env = () => cleanEnv({ STEWARD_SERVER: server.url, STEWARD_TOKEN: server.token });

  beforeAll(async () => {
    server = await startServerProcess();
    writeFileSync(file, randomBytes(4 * 1024 * 1024));
  }, 60_000);

  afterAll(async () => {
    await agent?.kill();
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

  it('backups run and restore draw a bar per node on a terminal from the agent\'s progress, and nothing when piped', async () => {
    agent = await addAgent(server, 'web-1');
    const site = join(agent.dataDir, 'files', 'site');
    mkdirSync(join(site, 'data'), { recursive: true });
    // Large enough that the agent reports while the CLI waits, not only at the end.
    for (let i = 0; i < 4; i++) writeFileSync(join(site, 'data', `part${i}.bin`), randomBytes(6 * 1024 * 1024));
    const shown = await inTerminal(['backups', 'run', '--node', 'web-1', '--source', site, '--to', 'control-plane']);
    expect(shown).toMatch(/web-1 (scanning|archiving|checking|uploading) +(\[[#-]{24}\] \d+% )?\S+/);
    // The bar is erased in place (`\r` + erase), so the summary follows it on the same line.
    const id = /(backup_\S+) {2}4 files, 24Mi/.exec(shown)?.[1];
    expect(id, shown).toBeDefined();
    const restored = await inTerminal(['backups', 'restore', id!, '--target', join(agent.dataDir, 'files', 'back')]);
    expect(restored).toMatch(/web-1 (downloading|checking|extracting|verifying) +\[[#-]{24}\] \d+% /);
    expect(restored).toContain('restored 4 files (24Mi)');

    const piped = await runCli(['backups', 'run', '--node', 'web-1', '--source', site, '--to', 'node'], { env: env() });
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe('');
    expect(piped.stdout).toMatch(/^backup_\S+ {2}4 files, 24Mi → 24Mi \(node\) {2}sha256 [0-9a-f]{64}\n$/);
  });
});
