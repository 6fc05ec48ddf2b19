import type { Node } from '@steward/protocol';
import { startPgCluster } from '../test/support/pg-cluster.js';
import { startReplicas } from '../test/support/replica-set.js';
import { startSimAgents } from '../test/support/sim-fleet.js';
import { readMemory } from './processes.js';
import { sleep } from './concurrency.js';

export interface FailoverOptions {
  agents: number;
  log: (line: string) => void;
}

export interface FailoverResult {
  agents: number;
  /** Agents whose server list named the killed replica first. */
  moved: number;
  /** kill -9 → every one of them connected to the survivor with a heartbeat after the kill, ms; and 50/90 %. */
  allMovedMs: number;
  movedP50Ms: number;
  movedP90Ms: number;
  /** sys.ping commands the killed replica accepted (one job) just before its kill, and how they ended. */
  accepted: number;
  succeeded: number;
  /** Commands executed more than once by a simulated agent (its journal replays repeats). */
  doubleEffects: number;
  /** Commands never executed. */
  missingEffects: number;
  /** kill → the survivor holds the scheduler lease, ms (lease TTL 10 s by default). */
  leaseMovedMs: number;
  /** kill → every accepted command final on the survivor, ms. */
  allFinalMs: number;
  survivorPeakRssMiB: number;
}

const POLL_MS = 250;
/** Production liveness (the test defaults in test/support are for quick suites). */
const ENV = { STEWARD_OFFLINE_AFTER_MS: '45000', STEWARD_STARTUP_GUARD_MS: '90000', STEWARD_DISCONNECT_GRACE_MS: '10000', STEWARD_HEARTBEAT_INTERVAL_MS: '15000', STEWARD_SWEEP_INTERVAL_MS: '1000' };

/**
 * Issue 16 item 3 at full size: two control-plane replicas on one PostgreSQL (a cluster the bench
 * owns), N simulated agents (the real AgentConnection; half list replica A first, half B), a
 * sys.ping job to the lease holder's agents submitted to it, then kill -9 of the lease holder.
 */
export async function runFailover(o: FailoverOptions): Promise<FailoverResult> {
  const pg = await startPgCluster();
  const { servers } = await startReplicas(pg.url, 2, ENV);
  const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
  let sims: Awaited<ReturnType<typeof startSimAgents>> | null = null;
  try {
    o.log(`failover: replicas ${a.url} ${b.url} on ${pg.url}; enrolling ${o.agents} simulated agents`);
    sims = await startSimAgents(a, { count: o.agents, prefix: 'fo', serversOf: (i) => (i % 2 === 0 ? [a.url, b.url] : [b.url, a.url]) });
    const sched = await waitForLeader(a);
    const dead = sched.leader === sched.replica ? a : b;
    const survivor = dead === a ? b : a;
    const movers = sims.names.filter((_, i) => sims!.servers[i]![0] === dead.url);
    o.log(`failover: ${o.agents} connected; killing ${dead.url} (lease holder, ${movers.length} agents) right after it accepted a job to them`);
    const job = await dead.client.createJob({ target: { nodes: movers }, type: 'sys.ping', payload: {} });
    const ids = job.commands.map((c) => c.id);
    await dead.kill('SIGKILL');
    const killedAt = Date.now();

    let peakRss = 0;
    const movedAt = new Map<string, number>();
    let leaseMovedMs = -1;
    let allFinalMs = -1;
    const want = new Set(movers);
    while (movedAt.size < movers.length || leaseMovedMs < 0 || allFinalMs < 0) {
      const now = Date.now();
      if (now - killedAt > 180_000) throw new Error(`failover: after 180 s ${movedAt.size}/${movers.length} moved, lease ${leaseMovedMs}, final ${allFinalMs}`);
      peakRss = Math.max(peakRss, readMemory(survivor.child.pid!).rssMiB);
      if (movedAt.size < movers.length) {
        const { items } = await survivor.client.listNodes({ limit: 10_000 });
        for (const n of items as Node[]) if (want.has(n.name) && !movedAt.has(n.name) && n.connected && (n.lastSeenAt ?? 0) > killedAt) movedAt.set(n.name, n.lastSeenAt! - killedAt);
      }
      if (leaseMovedMs < 0) {
        const s = await survivor.client.schedulerState();
        if (s.leader === s.replica) leaseMovedMs = now - killedAt;
      }
      if (allFinalMs < 0) {
        const j = await survivor.client.getJob(job.id);
        if (j.state !== 'running') allFinalMs = now - killedAt;
      }
      await sleep(POLL_MS);
    }
    const final = await survivor.client.getJob(job.id);
    const times = [...movedAt.values()].sort((x, y) => x - y);
    const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
    const effects = sims.fleet.effects!;
    return {
      agents: o.agents,
      moved: movers.length,
      allMovedMs: times.at(-1) ?? 0,
      movedP50Ms: at(0.5),
      movedP90Ms: at(0.9),
      accepted: ids.length,
      succeeded: final.counts.succeeded ?? 0,
      doubleEffects: ids.filter((id) => (effects.get(id) ?? 0) > 1).length,
      missingEffects: ids.filter((id) => !effects.has(id)).length,
      leaseMovedMs,
      allFinalMs,
      survivorPeakRssMiB: peakRss,
    };
  } finally {
    await sims?.stop();
    await Promise.all(servers.map((s) => s.kill('SIGKILL')));
    await pg.destroy();
  }
}

async function waitForLeader(s: { client: { schedulerState(): Promise<{ leader: string | null; replica: string }> } }) {
  for (;;) {
    const st = await s.client.schedulerState();
    if (st.leader) return st;
    await sleep(200);
  }
}

/** The report table's rows (bench/run.ts). */
export function failoverRows(r: FailoverResult): Array<{ benchmark: string; metric: string; value: number | string; unit?: string; target?: number }> {
  const b = `failover: ${r.agents} simulated agents over 2 replicas, kill -9 of the lease holder`;
  return [
    { benchmark: b, metric: `its ${r.moved} agents all on the survivor`, value: r.allMovedMs, unit: 'ms' },
    { benchmark: b, metric: '  50 % / 90 % of them', value: `${r.movedP50Ms} / ${r.movedP90Ms} ms` },
    { benchmark: b, metric: 'commands it accepted: succeeded / accepted', value: `${r.succeeded} / ${r.accepted}` },
    { benchmark: b, metric: 'commands run twice', value: r.doubleEffects, target: 0 },
    { benchmark: b, metric: 'commands never run', value: r.missingEffects, target: 0 },
    { benchmark: b, metric: 'kill → every accepted command final', value: r.allFinalMs, unit: 'ms' },
    { benchmark: b, metric: 'kill → scheduler lease on the survivor', value: r.leaseMovedMs, unit: 'ms' },
    { benchmark: b, metric: 'survivor peak RSS', value: r.survivorPeakRssMiB, unit: 'MiB' },
  ];
}
