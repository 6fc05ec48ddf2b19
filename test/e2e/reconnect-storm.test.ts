import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, startServerProcess, type ServerProc } from '../support/processes.js';
import { startSimAgents, type SimAgents } from '../support/sim-fleet.js';
import { readMetrics } from '../support/metrics.js';
import { waitFor } from '../support/wait.js';

const AGENTS = 1000;
/**
 * Production liveness (the quick test timings would mean 2,000 heartbeats a second), a start-up
 * guard with room for this loaded machine, and handshake limits low enough that 1,000 agents
 * surely meet them: the storm is admitted at 50 a second, 8 at a time.
 */
const ENV = {
  STEWARD_OFFLINE_AFTER_MS: '45000',
  STEWARD_DISCONNECT_GRACE_MS: '10000',
  STEWARD_HEARTBEAT_INTERVAL_MS: '15000',
  STEWARD_SWEEP_INTERVAL_MS: '1000',
  STEWARD_STARTUP_GUARD_MS: '240000',
  STEWARD_LIMIT_AGENT_HANDSHAKES: '8',
  STEWARD_LIMIT_AGENT_ACCEPTS_PER_SECOND: '50',
};

/**
 * Issue 16 item 1, scaled down (docs/reconnect.md; `npm run bench -- --only storm` measures it):
 * 1,000 simulated agents (the real AgentConnection and its 1 s → 60 s backoff) on one control
 * plane, kill -9, a restart on the same data dir and port. Every agent comes back, refused ones
 * with a 503 and a Retry-After they wait out; no node is marked offline; the node list never
 * says online for a node that is not connected; /healthz answers throughout.
 */
describe('reconnect storm after kill -9 of the control plane', { timeout: 600_000 }, () => {
  let server: ServerProc | null = null;
  let again: ServerProc | null = null;
  let sims: SimAgents | null = null;
  let probe: ChildProcess | null = null;
  const probeLines: string[] = [];

  beforeAll(async () => {
    server = await startServerProcess({ env: ENV });
    sims = await startSimAgents(server, { count: AGENTS, prefix: 'storm', serversOf: () => [server!.url], backoff: { initialDelayMs: 1000, maxDelayMs: 60_000 } });
  }, 600_000);

  afterAll(async () => {
    probe?.kill('SIGTERM');
    await sims?.stop();
    await again?.kill();
    await server?.kill('SIGKILL');
  });

  it('brings every agent back, marks none offline, never lists a node online that is not connected, and /healthz answers throughout', async () => {
    const fleet = sims!.fleet;
    expect(fleet.connected).toBe(AGENTS);
    const { dataDir, port, token, url } = server!;
    let partial = '';
    probe = spawn(process.execPath, [join(REPO, 'bench/healthz-probe.mjs'), url, '100'], { stdio: ['ignore', 'pipe', 'inherit'] });
    probe.stdout!.on('data', (d: Buffer) => {
      const parts = (partial + d.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      probeLines.push(...parts);
    });
    await server!.kill('SIGKILL');
    server = null;
    await waitFor('every simulated agent to notice the kill', () => fleet.connected === 0, { timeoutMs: 60_000 });
    again = await startServerProcess({ dataDir, port, env: ENV, token });
    const upAt = Date.now();

    // The first answers after the restart: nodes not connected to it are reconnecting, not online.
    const offline = new Set<string>();
    const lists: { online: number; reconnecting: number; offline: number; connected: number }[] = [];
    const check = async (): Promise<boolean> => {
      // One list (one query), so the counts are of one moment.
      const all = (await again!.client.listNodes({ limit: 10_000 })).items;
      const connected = fleet.connected; // read after the answer: every node listed online must be among them
      const count = (s: string) => all.filter((n) => n.status === s).length;
      for (const n of all) if (n.status === 'offline') offline.add(n.name);
      lists.push({ online: count('online'), reconnecting: count('reconnecting'), offline: count('offline'), connected });
      return count('online') === AGENTS && connected === AGENTS;
    };
    await waitFor('every node online again after the restart', check, { timeoutMs: 300_000, intervalMs: 500 });
    if (offline.size > 0) {
      // What the control plane said about them, for whoever reads a failure.
      const said = again.output().split('\n').filter((l) => /"level":(40|50)/.test(l) || [...offline].some((n) => l.includes(n)));
      console.error(`nodes marked offline: ${[...offline].join(', ')}; disconnects after a welcome: ${fleet.disconnects}\n${said.slice(-60).join('\n')}`);
    }
    expect([...offline]).toEqual([]);
    expect(lists.filter((l) => l.online > l.connected || l.online + l.reconnecting + l.offline !== AGENTS)).toEqual([]);
    expect(lists[0]!.reconnecting).toBeGreaterThan(0);
    expect(fleet.connected).toBe(AGENTS);

    // Refused agents were refused with 503 + Retry-After and came back by it: refusals happened,
    // every agent is connected, and no agent logged a refusal it could not read (those warn).
    const refused = (await readMetrics(again, token)).sum('steward_agent_handshakes_refused_total');
    expect(refused).toBeGreaterThan(0);
    expect({ errors: fleet.serverErrors, samples: fleet.errorSamples }).toEqual({ errors: 0, samples: [] });

    // /healthz: from its first answer after the restart until now, every probe was answered 200.
    probe!.kill('SIGTERM');
    await new Promise((r) => probe!.once('exit', r));
    const answers = probeLines.map((l) => JSON.parse(l) as { at: number; ms?: number; status?: number; error?: string }).filter((a) => a.at >= upAt - 200);
    const first = answers.findIndex((a) => a.status === 200);
    expect(first).toBeGreaterThanOrEqual(0);
    const after = answers.slice(first);
    expect(after.length).toBeGreaterThan(10);
    expect(after.filter((a) => a.status !== 200)).toEqual([]);
  });
});
