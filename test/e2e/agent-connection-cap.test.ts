import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentConnectionCap, openFileLimit } from '../../packages/server/src/core/open-files.js';
import { startServerProcess, type ServerProc } from '../support/processes.js';
import { startSimAgents, type SimAgents } from '../support/sim-fleet.js';
import { readMetrics } from '../support/metrics.js';
import { waitFor } from '../support/wait.js';

const CAP = 20;
const AGENTS = 30;

/** One series of the control plane's /metrics, 0 when absent. */
async function metric(server: ServerProc, name: string, labels = ''): Promise<number> {
  return (await readMetrics(server)).value(`${name}${labels}`);
}

/** /healthz over a new connection each time (one kept alive would pass even if no new socket could be accepted). */
async function healthz(server: ServerProc): Promise<number> {
  const res = await fetch(`${server.url}/healthz`, { headers: { connection: 'close' } });
  await res.arrayBuffer();
  return res.status;
}

/**
 * Sizing found that a control plane at its open-file limit locks the operator out: every agent
 * socket is a file, and at the limit neither /healthz nor the API nor the dashboard can be
 * accepted. Agent connections are capped below it (docs/scaling.md): past the cap agents get
 * 503 agents_busy (reason capacity) and wait, and the API keeps answering.
 */
describe('agent connections are capped below the open-file limit', { timeout: 180_000 }, () => {
  let server: ServerProc | null = null;
  let derived: ServerProc | null = null;
  let sims: SimAgents | null = null;

  beforeAll(async () => {
    server = await startServerProcess({ env: { STEWARD_LIMIT_AGENT_CONNECTIONS: String(CAP), STEWARD_HEARTBEAT_INTERVAL_MS: '2000' } });
  }, 90_000);

  afterAll(async () => {
    await sims?.stop();
    await server?.kill();
    await derived?.kill();
  });

  it('holds no more agents than the cap, refuses the rest with a logged 503, keeps the API reachable, and lets a waiting agent in when one leaves', async () => {
    const s = server!;
    expect(await metric(s, 'steward_agent_connections_limit')).toBe(CAP);
    sims = await startSimAgents(s, { count: AGENTS, prefix: 'cap', serversOf: () => [s.url], backoff: { initialDelayMs: 200, maxDelayMs: 2000 }, waitForWelcome: false });
    const welcomed = new Set<number>();
    sims.agents.forEach((a, i) => void a.welcome.then(() => welcomed.add(i)));
    // Positive markers: the cap is full and the surplus has been refused (counted and logged).
    await waitFor('the cap filled and agents refused for capacity', async () => sims!.fleet.connected === CAP && (await metric(s, 'steward_agent_handshakes_refused_total', '{reason="capacity"}')) >= AGENTS - CAP);
    await waitFor('the warning in the log', () => s.output().includes("agent connections at this process's cap"));
    expect(sims.fleet.welcomed).toBe(CAP);
    expect(await metric(s, 'steward_agents_connected')).toBe(CAP);
    expect(await healthz(s)).toBe(200);
    const online = (await s.client.listNodes({ status: 'online' })).items.length;
    expect(online).toBe(CAP);

    // Five connected agents leave: five waiting ones take their places, and no more.
    const inside = sims.agents.filter((_, i) => welcomed.has(i)).slice(0, 5);
    await Promise.all(inside.map((a) => a.stop()));
    const stopped = inside.length;
    expect(stopped).toBe(5);
    await waitFor('five waiting agents admitted', () => sims!.fleet.welcomed === CAP + 5 && sims!.fleet.connected === CAP, { timeoutMs: 60_000 });
    expect(await metric(s, 'steward_agents_connected')).toBe(CAP);
    expect(await healthz(s)).toBe(200);
  });

  it('without a configured cap derives it from the process open-file limit, leaving a reserve', async () => {
    derived = await startServerProcess();
    const limit = openFileLimit(`/proc/${derived.child.pid}/limits`);
    const gauge = await metric(derived, 'steward_agent_connections_limit');
    if (limit === null) {
      expect(gauge).toBe(0); // no limit known (not Linux): no cap, no gauge
      return;
    }
    expect(gauge).toBe(agentConnectionCap(0, limit));
    expect(gauge).toBeLessThan(limit);
    expect(limit - gauge).toBe(Math.min(1024, Math.floor(limit / 4)));
    expect(readFileSync(`/proc/${derived.child.pid}/limits`, 'utf8')).toContain('Max open files');
  });
});
