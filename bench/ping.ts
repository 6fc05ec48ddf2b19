import type { Command, EnrollmentTokenCreated, Node } from '@steward/protocol';
import { Api } from './api.js';
import { assertAlive, startControlPlane, stewardArgs, agentEnv, type Launcher } from './control-plane-process.js';
import { makeTempDir, readMemory, removeTempDir, spawnTracked, stopProcess, type Memory } from './processes.js';
import { WindowProbe, type CpuProfile } from './profiler.js';
import type { SqlSnapshot } from './sql-trace.js';
import { summarize, type Summary } from './stats.js';

export interface PingOptions {
  pings: number;
  warmup: number;
  launcher: Launcher;
  profile: boolean;
  sqlStats: boolean;
  log: (line: string) => void;
}

export interface PingResult {
  pings: number;
  warmup: number;
  /** Submit → result visible to the caller, ms. */
  roundTrip: Summary;
  /** POST /api/v1/commands alone, ms. */
  submit: Summary;
  /** GET /api/v1/commands/:id?wait=5 alone, ms. */
  wait: Summary;
  /** Commands answered `succeeded` already on the first GET (no wait needed). */
  doneBeforeGet: number;
  controlPlane: Memory & { cpuSeconds: number };
  agent: Memory;
  profile?: CpuProfile;
  sql?: SqlSnapshot;
  /** Length of the measured window, ms. */
  windowMs: number;
}

export const NODE_NAME = 'bench-ping';

/** Round trip of `sys.ping` through one real agent process. */
export async function runPing(o: PingOptions): Promise<PingResult> {
  const cp = await startControlPlane({ launcher: o.launcher, inspect: o.profile, sqlStats: o.sqlStats });
  const api = new Api(cp.url, cp.token, 2);
  const agentDir = makeTempDir('agent');
  let agent: ReturnType<typeof spawnTracked> | undefined;
  try {
    o.log(`ping: control plane pid ${cp.pid} at ${cp.url}`);
    const { token } = await api.post<EnrollmentTokenCreated>('/api/v1/enrollment-tokens', { uses: 1, ttlSeconds: 600 });
    agent = spawnTracked(
      process.execPath,
      stewardArgs(o.launcher, 'agent', ['--server', cp.url, '--enroll-token', token, '--data-dir', agentDir, '--name', NODE_NAME, '--log-level', 'warn']),
    { env: agentEnv(o.launcher) },
  );
    const agentProc = agent;
    const node = await waitOnline(api, () => {
      assertAlive(agentProc, 'agent');
      cp.assertAlive();
    });
    o.log(`ping: agent pid ${agentProc.child.pid} online as ${node.id}; warming up (${o.warmup})`);

    const one = async () => {
      const t0 = performance.now();
      const submitted = await api.post<Command>('/api/v1/commands', { node: node.id, type: 'sys.ping', payload: {} });
      const t1 = performance.now();
      const done = await api.get<Command>(`/api/v1/commands/${submitted.id}?wait=5`);
      const t2 = performance.now();
      if (done.state !== 'succeeded') {
        throw new Error(`sys.ping ${submitted.id} ended ${done.state}, not succeeded: ${JSON.stringify(done.error)}`);
      }
      return { total: t2 - t0, submit: t1 - t0, wait: t2 - t1, early: submitted.state === 'succeeded' };
    };
    for (let i = 0; i < o.warmup; i++) await one();

    const probe = await WindowProbe.open(cp.inspectorUrl, { profile: o.profile, sql: o.sqlStats });
    await probe?.begin();
    const w0 = performance.now();
    const cpu0 = cp.cpuSeconds();
    const total: number[] = [];
    const submit: number[] = [];
    const wait: number[] = [];
    let early = 0;
    o.log(`ping: measuring ${o.pings} round trips`);
    for (let i = 0; i < o.pings; i++) {
      const r = await one();
      total.push(r.total);
      submit.push(r.submit);
      wait.push(r.wait);
      if (r.early) early++;
    }
    const cpuSeconds = cp.cpuSeconds() - cpu0;
    const windowMs = performance.now() - w0;
    const probed = (await probe?.end()) ?? {};
    const result: PingResult = {
      pings: o.pings,
      warmup: o.warmup,
      roundTrip: summarize(total),
      submit: summarize(submit),
      wait: summarize(wait),
      doneBeforeGet: early,
      controlPlane: { ...cp.memory(), cpuSeconds: Math.round(cpuSeconds * 100) / 100 },
      agent: readMemory(agentProc.child.pid!),
      windowMs: Math.round(windowMs),
      ...probed,
    };
    return result;
  } finally {
    await api.close().catch(() => {});
    if (agent) await stopProcess(agent);
    removeTempDir(agentDir);
    await cp.stop();
  }
}

export async function waitOnline(api: Api, check: () => void, timeoutMs = 60_000): Promise<Node> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    check();
    const { items } = await api.get<{ items: Node[] }>('/api/v1/nodes?limit=10');
    const node = items.find((n) => n.name === NODE_NAME);
    if (node && node.status === 'online' && node.connected) {
      // Online is stored just before `welcome` goes out; give the agent a moment to read it.
      await new Promise((r) => setTimeout(r, 200));
      return node;
    }
    if (Date.now() > deadline) throw new Error(`agent ${NODE_NAME} did not come online within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
