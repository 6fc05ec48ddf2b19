import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StewardClient } from '@steward/client';
import { startPgCluster, type OwnedPgCluster } from '../support/pg-cluster.js';
import { startAgentProcess, tempDir, type AgentProc, type ServerProc } from '../support/processes.js';
import { restartReplica, startReplicas, type ReplicaShared } from '../support/replica-set.js';
import { killServices, removeTestCgroups } from '../support/service-artifacts.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';

/**
 * The control planes' settings for the soak: fast liveness (FAST_TIMINGS comes from
 * startServerProcess), a fast task lease and webhook retries. The webhook attempt timeout (and
 * so the delivery lease, 2 × it + 5 s) stays the production default.
 */
const SERVER_ENV: NodeJS.ProcessEnv = {
  STEWARD_TASK_TICK_MS: '100',
  STEWARD_TASK_LEASE_MS: '2000',
  STEWARD_WEBHOOK_ALLOW: '127.0.0.1',
  STEWARD_WEBHOOK_BACKOFF_MS: '200',
  STEWARD_WEBHOOK_BACKOFF_MAX_MS: '1000',
  STEWARD_WEBHOOK_MAX_ATTEMPTS: '1000',
  // Control planes the soak starts need no agent package of their own (as in vitest.config.ts).
  STEWARD_AGENT_PACKAGE_BUILD: 'off',
};

export interface SoakAgent {
  name: string;
  dataDir: string;
  /** The file every exec.run of the soak appends its mark to on this node (`$SOAK_EFFECTS`). */
  effects: string;
  /** One proxy per replica, in replica order: a cut or freeze of both partitions this agent alone. */
  proxies: TcpProxy[];
  proc: AgentProc;
  /** False between a kill -9 and the restart. */
  up: boolean;
}

/**
 * The soak's fleet: its own PostgreSQL cluster (the soak restarts it; the shared test cluster
 * must never be), two control-plane replicas on it and `agents` real agent processes, each
 * reaching both replicas through proxies of its own so a network fault hits one agent.
 */
export class Fleet {
  readonly agents: SoakAgent[] = [];
  servers: ServerProc[] = [];
  /** False between a kill -9 and the restart. */
  readonly serverUp: boolean[] = [];
  pgUp = true;
  private shared!: ReplicaShared;
  private readonly cgroupParent = `steward-soak-${process.pid}`;

  private constructor(
    readonly pg: OwnedPgCluster,
    readonly dir: string,
  ) {}

  static async start(o: { agents: number; log: (s: string) => void }): Promise<Fleet> {
    const pg = await startPgCluster();
    const fleet = new Fleet(pg, tempDir('steward-soak-'));
    try {
      await fleet.boot(o.agents, o.log);
    } catch (e) {
      await fleet.stop();
      throw e;
    }
    return fleet;
  }

  private async boot(count: number, log: (s: string) => void): Promise<void> {
    ({ servers: this.servers, shared: this.shared } = await startReplicas(this.pg.url, 2, SERVER_ENV));
    this.serverUp.push(true, true);
    log(`replicas up: ${this.servers.map((s) => s.url).join(', ')} on ${this.pg.url}`);
    const { token } = await this.servers[0]!.client.createEnrollmentToken({ uses: count, ttlSeconds: 3600 });
    for (let i = 0; i < count; i++) {
      const proxies = this.servers.map((s) => new TcpProxy(s.port));
      for (const p of proxies) await p.start();
      // Inside the fleet's dir, so one directory holds a run and removing it leaves nothing behind.
      const dataDir = join(this.dir, 'agents', `soak-${i}`);
      mkdirSync(dataDir, { recursive: true });
      const a: SoakAgent = { name: `soak-${i}`, dataDir, effects: join(dataDir, 'effects.txt'), proxies, proc: undefined as unknown as AgentProc, up: true };
      a.proc = this.launchAgent(a, token);
      this.agents.push(a);
    }
    await this.waitAllOnline(60_000);
    log(`${count} agents online`);
  }

  /** Odd agents list the second replica first, so both replicas hold agents. */
  private launchAgent(a: SoakAgent, token?: string): AgentProc {
    const i = this.agents.includes(a) ? this.agents.indexOf(a) : this.agents.length;
    const urls = a.proxies.map((p) => `http://127.0.0.1:${p.port}`);
    const list = i % 2 === 0 ? urls : [...urls].reverse();
    const config =
      `servers: [${list.join(', ')}]\n` +
      `resources: { cpuCores: 2, memoryBytes: 2147483648 }\ntask: { slots: 2 }\n` +
      `service:\n  cgroupParent: ${this.cgroupParent}\n  pollIntervalMs: 200\n`;
    return startAgentProcess({ token, name: a.name, dataDir: a.dataDir, config, env: { SOAK_EFFECTS: a.effects, SOAK_NODE: a.name } });
  }

  /** A client for a replica that is up (none: null), picked by `pick` in [0,1). */
  client(pick = Math.random()): StewardClient | null {
    const up = this.servers.filter((_, i) => this.serverUp[i]);
    return up.length ? up[Math.floor(pick * up.length)]!.client : null;
  }

  async killAgent(i: number): Promise<void> {
    const a = this.agents[i]!;
    a.up = false;
    await a.proc.kill('SIGKILL');
    this.keepOutput(a.name, a.proc);
  }

  /** Appends a process's output to `<dir>/logs/<name>.log`, for reading after a violation. */
  private keepOutput(name: string, proc: { output(): string }): void {
    mkdirSync(join(this.dir, 'logs'), { recursive: true });
    appendFileSync(join(this.dir, 'logs', `${name}.log`), proc.output());
  }

  restartAgent(i: number): void {
    const a = this.agents[i]!;
    a.proc = this.launchAgent(a);
    a.up = true;
  }

  async killReplica(i: number): Promise<void> {
    this.serverUp[i] = false;
    await this.servers[i]!.kill('SIGKILL');
    this.keepOutput(`replica-${i}`, this.servers[i]!);
  }

  /** Same port and data dir (the agents' proxies point at the port). The caller makes sure PostgreSQL is up. */
  async restartReplica(i: number): Promise<void> {
    this.servers[i] = await restartReplica(this.servers[i]!, this.shared);
    this.serverUp[i] = true;
  }

  async stopPg(): Promise<void> {
    this.pgUp = false;
    await this.pg.stop();
  }

  async startPg(): Promise<void> {
    await this.pg.start();
    this.pgUp = true;
  }

  /** Names of the agents whose process runs, with the status the store gives each node. */
  async nodeStatuses(): Promise<{ name: string; alive: boolean; status: string; connected: boolean }[]> {
    const c = this.client(0);
    if (!c) throw new Error('no replica up');
    const { items } = await c.listNodes({ limit: 1000 });
    const byName = new Map(items.map((n) => [n.name, n]));
    return this.agents.map((a) => {
      const n = byName.get(a.name);
      return { name: a.name, alive: a.proc.child.exitCode === null && a.proc.child.signalCode === null, status: n?.status ?? 'missing', connected: n?.connected ?? false };
    });
  }

  async waitAllOnline(timeoutMs: number): Promise<void> {
    await waitFor(
      'every soak agent online',
      async () => (await this.nodeStatuses()).every((n) => !n.alive || (n.status === 'online' && n.connected)),
      { timeoutMs, intervalMs: 250 },
    );
  }

  /** Resident memory of each replica process (kB → bytes); null for one that is down. */
  serverRss(): (number | null)[] {
    return this.servers.map((s, i) => (this.serverUp[i] ? rssOf(s.child.pid) : null));
  }

  /** Stops everything; the logs and effect files stay in `dir`. */
  async stop(): Promise<void> {
    for (const a of this.agents) {
      await a.proc?.kill('SIGKILL');
      if (a.proc) this.keepOutput(a.name, a.proc);
      killServices(a.dataDir);
      for (const p of a.proxies) await p.stop();
    }
    await Promise.all(this.servers.map((s) => s.kill('SIGKILL')));
    this.servers.forEach((s, i) => this.keepOutput(`replica-${i}`, s));
    await this.pg.destroy();
    removeTestCgroups(this.cgroupParent);
  }
}

/** Resident memory of a process in bytes (Linux /proc), null when it is gone. */
export function rssOf(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}
