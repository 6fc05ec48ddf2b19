import net from 'node:net';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { startServer, type ControlPlane } from '../../src/control-plane.js';
import { tempDir } from '../../../../test/support/processes.js';

/**
 * The start-up guard (docs/reconnect.md) is counted from the moment the control plane listens,
 * not from the start of its start-up: agents cannot come back before the listen, and a slow
 * start (measured: 21 s on a loaded machine) must not eat into their 90 s to return.
 */
describe('the start-up guard starts when the control plane listens', { timeout: 60_000 }, () => {
  let server: ControlPlane | null = null;

  afterAll(async () => {
    vi.restoreAllMocks();
    await server?.close();
  });

  it('takes its start time after the listen, not before the store and features were set up', async () => {
    let listenAt = -1;
    const listen = net.Server.prototype.listen;
    vi.spyOn(net.Server.prototype, 'listen').mockImplementation(function (this: net.Server, ...args: unknown[]) {
      listenAt = Date.now();
      return (listen as (...a: unknown[]) => net.Server).apply(this, args);
    });
    const before = Date.now();
    server = await startServer({ listen: '127.0.0.1:0', dataDir: tempDir('steward-guard-'), logLevel: 'silent' });
    expect(listenAt).toBeGreaterThan(before);
    expect(server.ctx.startedAt).toBeGreaterThanOrEqual(listenAt);
  });
});
