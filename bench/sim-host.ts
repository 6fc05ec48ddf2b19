import { fork, type ChildProcess } from 'node:child_process';
import { Agent as HttpAgent } from 'node:http';
import { sleep } from './concurrency.js';
import { quietLogger, SimAgent, SimFleet } from './sim-agent.js';

/**
 * Simulated agents in child processes of their own, so a fleet is not capped by one process's
 * open-file limit (every agent holds a socket). The sizing bench uses it to step past what the
 * bench process alone could hold and reach the control plane's own limits.
 *
 * Parent side: `SimHosts` spreads agents over hosts of at most `perHost` agents each and sums
 * their counters. Child side (this file run as a program): starts the agents it is sent and
 * reports its counters every 500 ms and whenever asked.
 */

export interface SimHostCounters {
  welcomed: number;
  heartbeats: number;
  disconnects: number;
  connected: number;
  serverErrors: number;
}

type ToHost = { type: 'start'; server: string; agents: { name: string; credential: string }[] } | { type: 'counters' } | { type: 'stop' };
type FromHost = { type: 'counters'; counters: SimHostCounters } | { type: 'stopped' };

const ZERO: SimHostCounters = { welcomed: 0, heartbeats: 0, disconnects: 0, connected: 0, serverErrors: 0 };

class SimHost {
  private readonly child: ChildProcess;
  counters: SimHostCounters = { ...ZERO };
  agents = 0;
  private waiters: (() => void)[] = [];
  private exited = false;

  constructor() {
    // The same TypeScript loader the bench runs under (tsx), passed on through execArgv.
    this.child = fork(import.meta.filename, ['--sim-host'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: FromHost) => {
      if (m.type === 'counters') this.counters = m.counters;
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    });
    this.child.on('exit', () => {
      this.exited = true;
      for (const f of this.waiters) f();
      this.waiters = [];
    });
  }

  send(m: ToHost): void {
    if (!this.exited) this.child.send(m);
  }

  /** The next message from the host (counters or stopped). */
  next(): Promise<void> {
    return this.exited ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.send({ type: 'stop' });
    await Promise.race([gone, sleep(30_000).then(() => this.child.kill('SIGKILL'))]);
  }

  get alive(): boolean {
    return !this.exited;
  }
}

export class SimHosts {
  private readonly hosts: SimHost[] = [];

  constructor(
    private readonly server: string,
    private readonly perHost = 6000,
  ) {}

  /** Starts these agents (already enrolled), filling the last host before opening another. */
  add(agents: { name: string; credential: string }[]): void {
    let rest = agents;
    while (rest.length) {
      let host = this.hosts.at(-1);
      if (!host || host.agents >= this.perHost) {
        host = new SimHost();
        this.hosts.push(host);
      }
      const take = rest.slice(0, this.perHost - host.agents);
      rest = rest.slice(take.length);
      host.agents += take.length;
      host.send({ type: 'start', server: this.server, agents: take });
    }
  }

  /** Fresh counters from every host, summed. */
  async counters(): Promise<SimHostCounters> {
    await Promise.all(
      this.hosts.map((h) => {
        const next = h.next();
        h.send({ type: 'counters' });
        return next;
      }),
    );
    const sum = { ...ZERO };
    for (const h of this.hosts) for (const k of Object.keys(sum) as (keyof SimHostCounters)[]) sum[k] += h.counters[k];
    return sum;
  }

  get size(): number {
    return this.hosts.reduce((a, h) => a + h.agents, 0);
  }

  /** A host died (out of memory, a bug): its agents are gone, and the figures are not the fleet's. */
  assertAlive(): void {
    if (this.hosts.some((h) => !h.alive)) throw new Error('a simulated-agent host process exited');
  }

  async stop(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.stop()));
  }
}

// ---- child side ----

async function hostMain(): Promise<void> {
  const fleet = new SimFleet();
  const log = quietLogger(fleet);
  const httpAgent = new HttpAgent({ keepAlive: false, maxSockets: Infinity });
  const sims: SimAgent[] = [];
  const counters = (): SimHostCounters => ({
    welcomed: fleet.welcomed,
    heartbeats: fleet.heartbeats,
    disconnects: fleet.disconnects,
    connected: fleet.connected,
    serverErrors: fleet.serverErrors,
  });
  const report = () => process.send?.({ type: 'counters', counters: counters() } satisfies FromHost);
  const timer = setInterval(report, 500);
  process.on('message', async (m: ToHost) => {
    if (m.type === 'start') {
      const fresh = m.agents.map((a) => new SimAgent({ server: m.server, name: a.name, credential: a.credential, fleet, httpAgent, log, heartbeat: true }));
      sims.push(...fresh);
      // Started a few at a time so the hosts' own connects do not all land in one tick.
      for (let i = 0; i < fresh.length; i += 64) {
        for (const s of fresh.slice(i, i + 64)) s.start();
        await sleep(5);
      }
    } else if (m.type === 'counters') {
      report();
    } else if (m.type === 'stop') {
      clearInterval(timer);
      await Promise.all(sims.map((s) => s.stop().catch(() => {})));
      httpAgent.destroy();
      process.send?.({ type: 'stopped' } satisfies FromHost, () => process.exit(0));
    }
  });
  // The parent died: do not linger holding thousands of sockets.
  process.on('disconnect', () => process.exit(0));
}

if (process.argv.includes('--sim-host')) void hostMain();
