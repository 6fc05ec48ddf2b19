import { Agent as HttpAgent } from 'node:http';
import { StewardClient } from '@steward/client';
import type { EnrollmentTokenCreated, EnrollResponse, Node, SchedulerState, Task } from '@steward/protocol';
import { Api } from './api.js';
import { startControlPlane, type Launcher } from './control-plane-process.js';
import type { Memory } from './processes.js';
import { WindowProbe, type CpuProfile } from './profiler.js';
import type { SqlSnapshot } from './sql-trace.js';
import { quietLogger, SimAgent, SimFleet, simInventory } from './sim-agent.js';
import { pool, sleep } from './concurrency.js';

export interface TasksOptions {
  agents: number;
  tasks: number;
  slots: number;
  launcher: Launcher;
  profile: boolean;
  sqlStats: boolean;
  log: (line: string) => void;
}

export interface TasksResult {
  agents: number;
  tasks: number;
  slotsPerNode: number;
  /** POSTing every task while the scheduler is paused (HTTP, 16 at a time), ms. */
  submitMs: number;
  /** Scheduler resumed → the first `slots × agents` tasks placed (placement alone, no waiting on results), ms. */
  firstWaveMs: number;
  firstWave: number;
  /** Scheduler resumed → every task placed (placements wait for freed slots), ms. */
  allPlacedMs: number;
  placementsPerSecond: number;
  firstWavePlacementsPerSecond: number;
  /** Scheduler resumed → every task succeeded (control-plane event times), ms. */
  allDoneMs: number;
  succeeded: number;
  /** `task.run` commands the simulated agents answered (each once). */
  runsAtAgents: number;
  controlPlane: Memory & { cpuSeconds: number };
  profile?: CpuProfile;
  sql?: SqlSnapshot;
  windowMs: number;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/**
 * N trivial tasks over M simulated nodes (real AgentConnection; each node reports `slots` task
 * slots and answers `task.run` at once). Tasks are queued with the scheduler paused, then it is
 * resumed and the event stream timed: when each task was placed and when it succeeded.
 */
export async function runTasks(o: TasksOptions): Promise<TasksResult> {
  const cp = await startControlPlane({ launcher: o.launcher, inspect: o.profile, sqlStats: o.sqlStats });
  const api = new Api(cp.url, cp.token, 16);
  const enrollApi = new Api(cp.url, null, 64);
  const client = new StewardClient({ baseUrl: cp.url, token: cp.token });
  const httpAgent = new HttpAgent({ keepAlive: false, maxSockets: Infinity });
  const fleet = new SimFleet();
  const log = quietLogger(fleet);
  const sims: SimAgent[] = [];
  try {
    const n = o.agents;
    o.log(`tasks: control plane pid ${cp.pid}; enrolling and connecting ${n} simulated nodes with ${o.slots} task slots each`);
    const { token } = await api.post<EnrollmentTokenCreated>('/api/v1/enrollment-tokens', { uses: n, ttlSeconds: 3600 });
    const width = String(n).length;
    const enrolled = await pool(n, 64, (i) => {
      const name = `sim-${String(i + 1).padStart(width, '0')}`;
      return enrollApi.post<EnrollResponse>('/agent/v1/enroll', { token, name, inventory: simInventory(name, true) });
    });
    for (const e of enrolled) sims.push(new SimAgent({ server: cp.url, name: e.name, credential: e.credential, fleet, httpAgent, log, heartbeat: true, taskSlots: o.slots }));
    await pool(n, 256, async (i) => {
      sims[i]!.start();
      await sims[i]!.welcome;
      cp.assertAlive();
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { items } = await api.get<{ items: Node[] }>(`/api/v1/nodes?status=online&limit=10000`);
      if (items.length >= n) break;
      if (Date.now() > deadline) throw new Error(`only ${items.length} of ${n} nodes online after 60 s`);
      await sleep(500);
    }
    await sleep(Math.min(3000, 500 + n));

    await api.call('PATCH', '/api/v1/scheduler', { paused: true });
    o.log(`tasks: ${fleet.welcomed} nodes online; submitting ${o.tasks} tasks with the scheduler paused`);
    const t0 = performance.now();
    const ids = await pool(o.tasks, 16, async () => (await api.post<Task>('/api/v1/tasks', { kind: 'exec', payload: { command: 'true' } })).id);
    const submitMs = performance.now() - t0;
    const wanted = new Set(ids);

    const placedAt: number[] = [];
    const doneAt: number[] = [];
    let failed = 0;
    const events = await client.openEvents({ kinds: ['task.state'] });
    let resolveDone!: () => void;
    const allDone = new Promise<void>((r) => (resolveDone = r));
    void (async () => {
      for await (const { event: e } of events) {
        if (e.kind !== 'task.state' || !wanted.has(e.taskId)) continue;
        // The control plane's own time of each transition (same machine clock as Date.now() here),
        // so a busy bench process reading the stream late does not count against the scheduler.
        if (e.state === 'placed') placedAt.push(e.at);
        else if (e.state === 'succeeded') doneAt.push(e.at);
        else if (e.state === 'failed' || e.state === 'cancelled') failed++;
        if (doneAt.length + failed >= o.tasks) resolveDone();
      }
    })().catch(() => {});

    const probe = await WindowProbe.open(cp.inspectorUrl, { profile: o.profile, sql: o.sqlStats });
    await probe?.begin();
    const cpu0 = cp.cpuSeconds();
    const w0 = performance.now();
    o.log(`tasks: ${o.tasks} queued in ${(submitMs / 1000).toFixed(1)} s; resuming the scheduler`);
    const tResume = Date.now();
    await api.call('PATCH', '/api/v1/scheduler', { paused: false });
    const timeout = Math.max(120_000, o.tasks * 20);
    await Promise.race([allDone, sleep(timeout).then(() => Promise.reject(new Error(`not all tasks ended within ${timeout} ms: ${placedAt.length} placed, ${doneAt.length} succeeded, ${failed} failed`)))]);
    const windowMs = performance.now() - w0;
    const cpuSeconds = cp.cpuSeconds() - cpu0;
    const probed = (await probe?.end()) ?? {};
    events.close();

    const state = await api.get<SchedulerState>('/api/v1/scheduler');
    const listed = await api.get<{ items: Task[] }>(`/api/v1/tasks?state=succeeded&limit=10000`);
    const problems: string[] = [];
    if (failed) problems.push(`${failed} tasks failed or were cancelled`);
    if (state.queued !== 0 || state.active !== 0) problems.push(`scheduler still has ${state.queued} queued, ${state.active} active`);
    if (listed.items.filter((t) => wanted.has(t.id)).length !== Math.min(o.tasks, 10_000)) problems.push('not every task is listed as succeeded');
    if (listed.items.some((t) => wanted.has(t.id) && t.attempts !== 1)) problems.push('some task took more than one attempt');
    if (fleet.tasksRun !== o.tasks) problems.push(`agents ran task.run ${fleet.tasksRun} times, want ${o.tasks}`);
    if (problems.length) throw new Error(`tasks check failed: ${problems.join('; ')}`);

    placedAt.sort((a, b) => a - b);
    doneAt.sort((a, b) => a - b);
    const firstWave = Math.min(o.tasks, o.agents * o.slots);
    const firstWaveMs = placedAt[firstWave - 1]! - tResume;
    const allPlacedMs = placedAt.at(-1)! - tResume;
    return {
      agents: o.agents,
      tasks: o.tasks,
      slotsPerNode: o.slots,
      submitMs: round(submitMs),
      firstWave,
      firstWaveMs: round(firstWaveMs),
      allPlacedMs: round(allPlacedMs),
      placementsPerSecond: Math.round(o.tasks / (allPlacedMs / 1000)),
      firstWavePlacementsPerSecond: Math.round(firstWave / (firstWaveMs / 1000)),
      allDoneMs: round(doneAt.at(-1)! - tResume),
      succeeded: doneAt.length,
      runsAtAgents: fleet.tasksRun,
      controlPlane: { ...cp.memory(), cpuSeconds: Math.round(cpuSeconds * 100) / 100 },
      windowMs: Math.round(windowMs),
      ...probed,
    };
  } finally {
    o.log(`tasks: stopping ${sims.length} simulated nodes and the control plane`);
    await Promise.all(sims.map((s) => s.stop().catch(() => {})));
    httpAgent.destroy();
    await enrollApi.close().catch(() => {});
    await api.close().catch(() => {});
    await cp.stop();
  }
}
