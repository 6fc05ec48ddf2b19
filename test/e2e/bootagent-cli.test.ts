import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { BootAgentClient } from '../support/bootagent-client.js';
import { freePort, STEWARD_BIN, tempDir } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/** `steward server --bootagent-listen` opens the BootAgent listener (the flag reaches the server). */

const dataDir = tempDir('steward-bootagent-cli-');
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

it('serves BootAgent devices on the address --bootagent-listen names', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, [STEWARD_BIN, 'server', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--bootagent-listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    const dev = new BootAgentClient(`127.0.0.1:${port}`, 'cli-box', 'sn-cli-box');
    const r = await waitFor(
      'the BootAgent listener',
      async () => {
        if (child.exitCode !== null) throw new Error(`the server exited: ${out}`);
        return dev.register().catch(() => false);
      },
      { timeoutMs: 60_000 },
    );
    expect(r).toMatchObject({ http: 403, body: { status: 1, code: 'admission_pending', agentsn: 'sn-cli-box' } });
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});
