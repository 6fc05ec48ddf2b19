import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli, startCli, type Background } from './helpers/cli.js';
import { waitFor } from '../../../test/support/wait.js';

describe('the admin token of a first start', { timeout: 90_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'steward-admin-token-'));
  let blocker: Server | undefined;
  let server: Background | undefined;

  afterAll(async () => {
    await server?.stop();
    await new Promise((r) => (blocker ? blocker.close(r) : r(undefined)));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a first start that fails (port taken) makes no token, so the next start still says "just created"', async () => {
    blocker = createServer();
    await new Promise<void>((r) => blocker!.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as { port: number }).port;
    const failed = await runCli(['server', '--listen', `127.0.0.1:${taken}`, '--data-dir', dir, '--log-level', 'silent'], { timeoutMs: 60_000 });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('EADDRINUSE');
    expect(existsSync(join(dir, 'admin.token'))).toBe(false);

    server = startCli(['server', '--listen', '127.0.0.1:0', '--data-dir', dir, '--log-level', 'warn'], cleanEnv());
    await waitFor('the admin token line', () => (server!.output().includes('admin token:') ? true : undefined), { timeoutMs: 60_000 });
    expect(server.output()).toContain(`admin token: ${join(dir, 'admin.token')} (just created`);
    await server.stop();

    server = startCli(['server', '--listen', '127.0.0.1:0', '--data-dir', dir, '--log-level', 'warn'], cleanEnv());
    await waitFor('the admin token line', () => (server!.output().includes('admin token:') ? true : undefined), { timeoutMs: 60_000 });
    expect(server.output()).toContain(`admin token: ${join(dir, 'admin.token')} (made on the first start; sign in with it, keep it secret)`);
  });
});
