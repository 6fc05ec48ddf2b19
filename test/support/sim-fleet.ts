import { Agent as HttpAgent } from 'node:http';
import type { EnrollResponse } from '@steward/protocol';
import { quietLogger, SimAgent, SimFleet, simInventory } from '../../bench/sim-agent.js';
import type { ServerProc } from './processes.js';

export interface SimAgents {
  fleet: SimFleet;
  /** Node names, index-aligned with `servers`. */
  names: string[];
  /** Each agent's server list, first entry first. */
  servers: string[][];
  /** The agents, index-aligned with `names` (to stop some). */
  agents: SimAgent[];
  stop(): Promise<void>;
}

/**
 * Enrolls `count` simulated agents (bench/sim-agent.ts: the real AgentConnection, sys.ping and
 * exec.run answered at once) through `via`, each with the server list `serversOf(i)`, connects
 * them and waits for every first welcome (unless `waitForWelcome: false`). `fleet.effects` counts executions per command id.
 */
export async function startSimAgents(
  via: ServerProc,
  o: { count: number; prefix: string; serversOf: (i: number) => string[]; backoff?: { initialDelayMs: number; maxDelayMs: number }; heartbeat?: boolean; waitForWelcome?: boolean },
): Promise<SimAgents> {
  const fleet = new SimFleet();
  fleet.effects = new Map();
  const log = quietLogger(fleet);
  const httpAgent = new HttpAgent({ keepAlive: false, maxSockets: Infinity });
  const { token } = await via.client.createEnrollmentToken({ uses: o.count, ttlSeconds: 3600 });
  const names = Array.from({ length: o.count }, (_, i) => `${o.prefix}-${String(i).padStart(4, '0')}`);
  const servers = names.map((_, i) => o.serversOf(i));
  const sims: SimAgent[] = new Array(o.count);
  for (let i = 0; i < o.count; i += 40) {
    const batch = names.slice(i, i + 40);
    await Promise.all(
      batch.map(async (name, j) => {
        const res = await fetch(`${via.url}/agent/v1/enroll`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token, name, inventory: simInventory(name, false, true) }),
        });
        if (res.status !== 201 && res.status !== 200) throw new Error(`enrolling ${name}: HTTP ${res.status} ${await res.text()}`);
        const { credential } = (await res.json()) as EnrollResponse;
        const sim = new SimAgent({ server: servers[i + j]![0]!, servers: servers[i + j], name, credential, fleet, httpAgent, log, heartbeat: o.heartbeat ?? true, ...o.backoff });
        sims[i + j] = sim;
        sim.start();
      }),
    );
  }
  if (o.waitForWelcome !== false) await Promise.all(sims.map((s) => s.welcome));
  return {
    fleet,
    names,
    servers,
    agents: sims,
    async stop() {
      await Promise.all(sims.map((s) => s.stop()));
      httpAgent.destroy();
    },
  };
}
