import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/** More connections than Node's default listen backlog (511) holds. */
const CONNECTIONS = 800;
/** The kernel caps any backlog at net.core.somaxconn (4096 on current Linux, 128 on old kernels). */
const SOMAXCONN = (() => {
  try {
    return Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
  } catch {
    return 0;
  }
})();

/**
 * The control plane listens with a deep accept queue (`limits.listenBacklog`, 4096 by default;
 * docs/reconnect.md): a burst of connections arriving while its event loop is busy waits in the
 * kernel instead of having SYNs dropped, which held /healthz (same port) up for the SYN
 * retransmit time (1, 3, 7, 15 s) in a reconnect storm. The control plane is stopped (SIGSTOP),
 * so nothing is accepted: every connection must still complete its TCP handshake.
 */
describe('listen backlog', { timeout: 120_000 }, () => {
  let server: ServerProc | null = null;
  const sockets: Socket[] = [];

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    if (server) {
      server.child.kill('SIGCONT');
      await server.kill('SIGKILL');
    }
  });

  it.skipIf(SOMAXCONN < CONNECTIONS)('holds a burst past 511 connections completed while the control plane accepts none, then serves /healthz', async () => {
    server = await startServerProcess();
    const { port, url } = server;
    server.child.kill('SIGSTOP');
    let connected = 0;
    for (let i = 0; i < CONNECTIONS; i++) {
      const s = connect({ host: '127.0.0.1', port });
      s.on('connect', () => connected++);
      s.on('error', () => {});
      sockets.push(s);
    }
    // With the default backlog, 512 connect and the rest wait for SYN retransmits past the stop.
    await waitFor(`${CONNECTIONS} connections to complete while the control plane is stopped`, () => connected === CONNECTIONS, { timeoutMs: 30_000 });
    expect(server.child.signalCode).toBeNull();
    server.child.kill('SIGCONT');
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(30_000) });
    expect(res.status).toBe(200);
  });
});
