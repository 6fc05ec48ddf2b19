import { availableParallelism } from 'node:os';
import { Agent as HttpAgent } from 'node:http';
import type { EnrollmentTokenCreated, EnrollResponse, JobDetail, Node } from '@steward/protocol';
import { Api } from './api.js';
import { startControlPlane, type Launcher } from './control-plane-process.js';
import type { Memory } from './processes.js';
import { WindowProbe, type CpuProfile } from './profiler.js';
import type { SqlSnapshot } from './sql-trace.js';
import { quietLogger, SimAgent, SimFleet, simInventory } from './sim-agent.js';
import { pool, sleep } from './concurrency.js';

export interface FanoutOptions {
  agents: number;
  launcher: Launcher;
  profile: boolean;
  sqlStats: boolean;
  heartbeat: boolean;
  /** Seconds to watch the idle control plane (heartbeats only) before the job; 0 skips it. */
  idleSeconds: number;
  log: (line: string) => void;
}

export interface FanoutResult {
  agents: number;
  /** Just before POST /api/v1/jobs → GET /api/v1/jobs/:id says succeeded with every result, ms. */
  totalMs: number;
  /** POST /api/v1/jobs answered (job + N commands stored and pushed; the answer a summary with the first page), ms after start. */
  postAnsweredMs: number;
  /** Last first-time `command.dispatch` reached a simulated agent, ms after start. */
  lastDispatchMs: number;
  /** Deliveries of a command the agent already had (heartbeat reconcile / redelivery), and the last one's time. */
  repeatDispatches: number;
  lastRepeatMs: number | null;
  /** Last `result.ack` reached a simulated agent (= every result stored), ms after start. */
  lastAckMs: number;
  /** job.finishedAt − job.createdAt on the control plane's clock, ms. */
  serverJobMs: number;
  /** How many GET /api/v1/jobs/:id?wait= calls it took. */
  polls: number;
  counts: Record<string, number>;
  heartbeatsDuringRun: number;
  disconnectsDuringRun: number;
  /** Control plane CPU with N agents connected and nothing to do but heartbeats, % of one core. */
  idleCpuPercent: number | null;
  idleHeartbeatsPerSecond: number | null;
  controlPlane: Memory & { cpuSeconds: number };
  /** CPU the bench process (all simulated agents + the HTTP client) used in the window, s. */
  benchCpuSeconds: number;
  /** The control plane's read and write system calls in the window (socket reads and writes, the store's I/O). */
  controlPlaneSyscalls: { reads: number; writes: number } | null;
  /** Cores of this machine: (control plane CPU + bench CPU) / cores is a floor under the wall time. */
  cores: number;
  setup: { enrollMs: number; connectMs: number };
  profile?: CpuProfile;
  sql?: SqlSnapshot;
  /** Length of the measured window, ms. */
  windowMs: number;
}

const ENROLL_CONCURRENCY = 64;
const CONNECT_CONCURRENCY = 256;
/** The API lists at most this many nodes in one answer. */
const LIST_LIMIT = 10_000;


/** One `sys.ping` job fanned out to N simulated agents (real AgentConnection, one process). */
export async function runFanout(o: FanoutOptions): Promise<FanoutResult> {
  const n = o.agents;
  const cp = await startControlPlane({ launcher: o.launcher, inspect: o.profile, sqlStats: o.sqlStats });
  const api = new Api(cp.url, cp.token, 4);
  const enrollApi = new Api(cp.url, null, ENROLL_CONCURRENCY);
  const httpAgent = new HttpAgent({ keepAlive: false, maxSockets: Infinity });
  const fleet = new SimFleet();
  const log = quietLogger(fleet);
  const sims: SimAgent[] = [];
  try {
    o.log(`fanout: control plane pid ${cp.pid} at ${cp.url}; enrolling ${n} agents (${ENROLL_CONCURRENCY} at a time)`);
    const { token } = await api.post<EnrollmentTokenCreated>('/api/v1/enrollment-tokens', { uses: n, ttlSeconds: 3600 });
    const width = String(n).length;
    const tEnroll = performance.now();
    const enrolled = await pool(n, ENROLL_CONCURRENCY, (i) => {
      const name = `sim-${String(i + 1).padStart(width, '0')}`;
      return enrollApi.post<EnrollResponse>('/agent/v1/enroll', { token, name, inventory: simInventory(name) });
    });
    const enrollMs = performance.now() - tEnroll;
    o.log(`fanout: enrolled ${n} in ${(enrollMs / 1000).toFixed(1)} s; connecting (${CONNECT_CONCURRENCY} handshakes at a time)`);

    const tConnect = performance.now();
    for (const e of enrolled) {
      sims.push(new SimAgent({ server: cp.url, name: e.name, credential: e.credential, fleet, httpAgent, log, heartbeat: o.heartbeat }));
    }
    const connectDeadline = Date.now() + 120_000 + n * 20;
    await pool(n, CONNECT_CONCURRENCY, async (i) => {
      const sim = sims[i]!;
      sim.start();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          sim.welcome,
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`agent ${enrolled[i]!.name} got no welcome in time (${fleet.welcomed}/${n} welcomed; ${fleet.errorSamples.join(' | ')})`)),
              Math.max(0, connectDeadline - Date.now()),
            );
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
      cp.assertAlive();
    });
    const connectMs = performance.now() - tConnect;
    o.log(`fanout: ${fleet.welcomed} welcomed in ${(connectMs / 1000).toFixed(1)} s; waiting until the API lists them online`);

    const want = Math.min(n, LIST_LIMIT);
    const onlineDeadline = Date.now() + 60_000;
    for (;;) {
      const { items } = await api.get<{ items: Node[] }>(`/api/v1/nodes?status=online&limit=${LIST_LIMIT}`);
      if (items.length >= want) break;
      if (Date.now() > onlineDeadline) throw new Error(`only ${items.length} of ${n} nodes online after 60 s`);
      await sleep(500);
    }
    // The first heartbeat of each agent goes out right after welcome; let that burst settle.
    await sleep(Math.min(3000, 500 + n / 10));
    // Background: what N connected agents cost when nothing happens but heartbeats.
    let idleCpuPercent: number | null = null;
    let idleHeartbeatsPerSecond: number | null = null;
    if (o.idleSeconds > 0) {
      o.log(`fanout: watching the idle control plane for ${o.idleSeconds} s (heartbeats only)`);
      const idleCpu0 = cp.cpuSeconds();
      const idleHb0 = fleet.heartbeats;
      const idleT0 = performance.now();
      await sleep(o.idleSeconds * 1000);
      const idleS = (performance.now() - idleT0) / 1000;
      idleCpuPercent = Math.round(((cp.cpuSeconds() - idleCpu0) / idleS) * 1000) / 10;
      idleHeartbeatsPerSecond = Math.round((fleet.heartbeats - idleHb0) / idleS);
      o.log(`fanout: idle control plane: ${idleCpuPercent}% of a core at ${idleHeartbeatsPerSecond} heartbeats/s`);
    }

    const probe = await WindowProbe.open(cp.inspectorUrl, { profile: o.profile, sql: o.sqlStats });
    await probe?.begin();
    const w0 = performance.now();
    const repeats0 = fleet.repeatDispatches;
    const hb0 = fleet.heartbeats;
    const disc0 = fleet.disconnects;
    const cpu0 = cp.cpuSeconds();
    const sys0 = cp.syscalls();
    const benchCpu0 = process.cpuUsage();
    o.log(`fanout: measuring one sys.ping job to ${n} nodes`);

    const t0 = performance.now();
    const created = await api.post<JobDetail>('/api/v1/jobs', { target: { all: true }, type: 'sys.ping' });
    const tPost = performance.now();
    const deadline = Date.now() + Math.max(120_000, n * 30);
    let job: JobDetail = created;
    let polls = 0;
    while (job.state === 'running') {
      if (Date.now() > deadline) throw new Error(`job ${created.id} still running after ${Math.round(performance.now() - t0)} ms: ${JSON.stringify(job.counts)}`);
      const wait = Math.max(1, Math.min(60, Math.ceil((deadline - Date.now()) / 1000)));
      job = await api.get<JobDetail>(`/api/v1/jobs/${created.id}?wait=${wait}`);
      polls++;
    }
    const t1 = performance.now();
    const cpuSeconds = cp.cpuSeconds() - cpu0;
    const sys1 = cp.syscalls();
    const benchCpu = process.cpuUsage(benchCpu0);
    const windowMs = performance.now() - w0;
    const probed = (await probe?.end()) ?? {};
    const memory = cp.memory();

    // Cross-checks: the aggregate, the rows, and what the agents saw.
    const problems: string[] = [];
    if (job.state !== 'succeeded') problems.push(`job ended ${job.state}`);
    if (job.total !== n) problems.push(`job.total ${job.total} ≠ ${n}`);
    if ((job.counts.succeeded ?? 0) !== n) problems.push(`counts.succeeded ${job.counts.succeeded ?? 0} ≠ ${n}`);
    // The job's commands come a page at a time; read them all (outside the measured window).
    const rows = [...job.commands];
    for (let after = job.next; after; ) {
      const page = await api.get<JobDetail>(`/api/v1/jobs/${created.id}?limit=10000&after=${encodeURIComponent(after)}`);
      rows.push(...page.commands);
      after = page.next;
    }
    const okRows = rows.filter((c) => c.state === 'succeeded').length;
    if (rows.length !== n || okRows !== n) problems.push(`${okRows} of ${rows.length} command rows succeeded, want ${n}`);
    if (new Set(rows.map((c) => c.nodeId)).size !== n) problems.push('commands do not cover N distinct nodes');
    if (fleet.executed !== n) problems.push(`agents executed ${fleet.executed} commands, want ${n}`);
    // Acks leave the control plane once results are stored; the last few may still be in flight.
    const ackDeadline = Date.now() + 10_000;
    while (fleet.acks < n && Date.now() < ackDeadline) await sleep(20);
    if (fleet.acks !== n) problems.push(`agents got ${fleet.acks} result acks, want ${n}`);
    if (fleet.unknownTypes) problems.push(`${fleet.unknownTypes} dispatches of an unexpected type`);
    if (problems.length) throw new Error(`fan-out check failed: ${problems.join('; ')}`);

    return {
      agents: n,
      totalMs: round(t1 - t0),
      postAnsweredMs: round(tPost - t0),
      lastDispatchMs: round(fleet.lastDispatchAt - t0),
      repeatDispatches: fleet.repeatDispatches - repeats0,
      lastRepeatMs: fleet.repeatDispatches > repeats0 ? round(fleet.lastRepeatAt - t0) : null,
      lastAckMs: round(fleet.lastAckAt - t0),
      serverJobMs: (job.finishedAt ?? NaN) - job.createdAt,
      polls,
      counts: job.counts,
      heartbeatsDuringRun: fleet.heartbeats - hb0,
      disconnectsDuringRun: fleet.disconnects - disc0,
      idleCpuPercent,
      idleHeartbeatsPerSecond,
      controlPlane: { ...memory, cpuSeconds: Math.round(cpuSeconds * 100) / 100 },
      benchCpuSeconds: Math.round(((benchCpu.user + benchCpu.system) / 1e6) * 100) / 100,
      controlPlaneSyscalls: sys0 && sys1 ? { reads: sys1.reads - sys0.reads, writes: sys1.writes - sys0.writes } : null,
      cores: availableParallelism(),
      setup: { enrollMs: round(enrollMs), connectMs: round(connectMs) },
      windowMs: Math.round(windowMs),
      ...probed,
    };
  } finally {
    o.log(`fanout: stopping ${sims.length} simulated agents and the control plane`);
    await Promise.all(sims.map((s) => s.stop().catch(() => {})));
    httpAgent.destroy();
    await enrollApi.close().catch(() => {});
    await api.close().catch(() => {});
    await cp.stop();
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
