import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServerProcess, type ServerProc } from '../test/support/processes.js';
import { startSimAgents, type SimAgents } from '../test/support/sim-fleet.js';
import { sleep } from './concurrency.js';
import { readCpuSeconds, readMemory } from './processes.js';
import type { Row } from './report.js';

export interface StormOptions {
  agents: number;
  /** kill -9 → the restart begins, ms. */
  outageMs: number;
  /** Writes a V8 CPU profile of the restarted control plane (start-up through the storm) into this dir. */
  profileDir?: string;
  /**
   * How the bench watches the node statuses every second: `counts` (default) asks for the status
   * counts (the dashboard summary: one GROUP BY) and the offline nodes (`?status=offline`, empty
   * unless one is falsely offline); `full` lists all N nodes each time, as before: at 10,000 a
   * response of several MB and a few hundred ms of the control plane's CPU every second, load no
   * operator puts on it during a storm (the dashboard pages 50 at a time).
   */
  list?: 'counts' | 'full';
  log: (line: string) => void;
}

export interface StormResult {
  agents: number;
  outageMs: number;
  list: 'counts' | 'full';
  /** Spawn of the restarted control plane → it listens (its endpoint file), ms: where a CPU profile's listening moment is. */
  startMs: number;
  /** The restarted control plane listening → every simulated agent welcomed again, ms. */
  allBackMs: number;
  /** 50 / 90 % of them back, ms after listening. */
  p50BackMs: number;
  p90BackMs: number;
  /** listening → the node list says every node `online`, ms. */
  allOnlineInApiMs: number;
  /** /healthz answers from listening until all back: count, slowest, and failures after the first answer. */
  healthzAnswers: number;
  healthzMaxMs: number;
  healthzP99Ms: number;
  healthzFailures: number;
  /**
   * The five slowest /healthz answers: ms after listening they were sent, their latency, and
   * while each waited, the control plane's longest event-loop delay and the connections the
   * kernel dropped from a full accept queue (bench/storm-loop-monitor.mjs): which of the two held it.
   */
  healthzSlowest: { afterMs: number; ms: number; loopMaxMs: number; overflows: number }[];
  /** The control plane's longest event-loop delay, and accept-queue overflows (machine-wide), from listening until all were back. */
  loopMaxMs: number;
  listenOverflows: number;
  /**
   * Per second after listening (until all back; second -1 is the one before the endpoint file was seen): welcomes, connections the kernel established
   * (machine-wide PassiveOpens: the storm's arrivals), accept-queue overflows, the longest
   * event-loop delay and the control plane's CPU (100 = one core). Where the storm's time goes.
   */
  timeline: { second: number; welcomes: number; opens: number; overflows: number; loopMaxMs: number; cpuPercent: number }[];
  /** Nodes seen `offline` in the node list at any poll after the restart (none is offline for real). */
  falseOffline: number;
  /** Nodes `online` in the first node list answered after the restart, and agents connected at that moment. */
  firstAnswerOnline: number;
  firstAnswerConnected: number;
  firstAnswerReconnecting: number;
  /** 503 agents_busy answers of the restarted control plane (steward_agent_handshakes_refused_total). */
  refusals: number;
  /** Welcomes per second after the restart: mean over the storm and the busiest second. */
  handshakesPerSecond: number;
  peakHandshakesPerSecond: number;
  /** The restarted control plane: busiest 1 s of CPU (100 = one core), and its peak RSS. */
  peakCpuPercent: number;
  peakRssMiB: number;
}

/** Production liveness timings (test/support's are for quick suites); the start-up guard is the default 90 s. */
const ENV = { STEWARD_OFFLINE_AFTER_MS: '45000', STEWARD_STARTUP_GUARD_MS: '90000', STEWARD_DISCONNECT_GRACE_MS: '10000', STEWARD_HEARTBEAT_INTERVAL_MS: '15000', STEWARD_SWEEP_INTERVAL_MS: '1000', STEWARD_TIMEOUT_GRACE_MS: '5000' };
/** The real agent's reconnect backoff (packages/agent config defaults). */
const REAL_BACKOFF = { initialDelayMs: 1000, maxDelayMs: 60_000 };
const SAMPLE_MS = 250;
/** Memory bound stated in docs/reconnect.md: a base plus a per-agent share. */
export function stormRssBoundMiB(agents: number): number {
  return Math.round(256 + agents * 0.064);
}

/**
 * Issue 16 item 1: N simulated agents (the real AgentConnection and backoff, 1 s → 60 s) on one
 * control plane (SQLite, its own process), kill -9 of it, a restart on the same data dir and
 * port after `outageMs`, and what the storm of reconnects costs: time until every agent is back,
 * /healthz latency from a separate probe process every 100 ms, nodes falsely marked offline,
 * 503 refusals, handshakes per second, peak CPU and RSS of the restarted control plane.
 */
export async function runStorm(o: StormOptions): Promise<StormResult> {
  let server: ServerProc | null = await startServerProcess({ env: ENV });
  const { dataDir, port, token } = server;
  let sims: SimAgents | null = null;
  let again: ServerProc | null = null;
  const probeLines: string[] = [];
  const probe = spawn(process.execPath, [join(import.meta.dirname, 'healthz-probe.mjs'), server.url, '100'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let partial = '';
  probe.stdout.on('data', (d: Buffer) => {
    const parts = (partial + d.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    probeLines.push(...parts);
  });
  try {
    const t0 = Date.now();
    o.log(`storm: control plane ${server.url}; enrolling and connecting ${o.agents} simulated agents (backoff 1 s → 60 s)`);
    sims = await startSimAgents(server, { count: o.agents, prefix: 'st', serversOf: () => [server!.url], backoff: REAL_BACKOFF });
    o.log(`storm: ${sims.fleet.connected} connected after ${Math.round((Date.now() - t0) / 1000)} s; kill -9, restart in ${o.outageMs} ms`);
    await server.kill('SIGKILL');
    server = null;
    await sleep(o.outageMs);
    const fleet = sims.fleet;
    // --cpu-prof writes its profile when the process exits (the SIGTERM at the end).
    const loopFile = join(dataDir, 'storm-loop.jsonl');
    const nodeArgs = ['--import', join(import.meta.dirname, 'storm-loop-monitor.mjs'), ...(o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : [])];
    const spawnedAt = Date.now();
    again = await startServerProcess({ dataDir, port, env: { ...ENV, STEWARD_BENCH_LOOP_FILE: loopFile }, token, nodeArgs });
    const upAt = Date.now();
    const pid = again.child.pid!;
    o.log(`storm: restarted (pid ${pid}), listening ${upAt - spawnedAt} ms after its spawn, ${upAt - t0} ms into the run; ${fleet.connected} agents connected`);

    // Samples: CPU and welcomes per window; the node list for offline nodes and the honest first answer.
    const backAt: number[] = [];
    let lastConnected = fleet.connected;
    let lastWelcomes = fleet.welcomes;
    let lastCpu = readCpuSeconds(pid);
    let lastAt = performance.now();
    let peakCpu = 0;
    let peakHps = 0;
    const hpsWindow: number[] = [];
    /** Welcomes and CPU seconds per second after listening (timeline). */
    const perSecond: { welcomes: number; cpu: number }[] = [];
    const sampler = setInterval(() => {
      const now = performance.now();
      const cpu = readCpuSeconds(pid);
      // Over a 1 s window (four samples), so one busy 250 ms slice does not read as the peak.
      hpsWindow.push(fleet.welcomes - lastWelcomes);
      if (hpsWindow.length > 4) hpsWindow.shift();
      if (hpsWindow.length === 4) peakHps = Math.max(peakHps, hpsWindow.reduce((a, b) => a + b, 0));
      peakCpu = Math.max(peakCpu, ((cpu - lastCpu) / ((now - lastAt) / 1000)) * 100);
      const sec = Math.floor((Date.now() - upAt) / 1000);
      perSecond[sec] ??= { welcomes: 0, cpu: 0 };
      perSecond[sec].welcomes += fleet.welcomes - lastWelcomes;
      perSecond[sec].cpu += cpu - lastCpu;
      for (let c = lastConnected; c < fleet.connected; c++) backAt.push(Date.now() - upAt);
      lastConnected = Math.max(lastConnected, fleet.connected);
      lastWelcomes = fleet.welcomes;
      lastCpu = cpu;
      lastAt = now;
    }, SAMPLE_MS);
    const offline = new Set<string>();
    const seen: { first: { online: number; reconnecting: number; connected: number } | null } = { first: null };
    let allOnlineInApiMs = -1;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        try {
          // The counts come from one query (one list, or one GROUP BY), so they are of one moment.
          let counts: { online: number; reconnecting: number };
          if (o.list === 'full') {
            const all = (await again!.client.listNodes({ limit: 10_000 })).items;
            const count = (s: string) => all.filter((n) => n.status === s).length;
            for (const n of all) if (n.status === 'offline') offline.add(n.name);
            counts = { online: count('online'), reconnecting: count('reconnecting') };
          } else {
            const summary = (await (await fetch(`${again!.url}/api/v1/dashboard/summary`, { headers: { authorization: `Bearer ${token}` } })).json()) as { nodes: { online: number; reconnecting: number } };
            counts = summary.nodes;
            for (const n of (await again!.client.listNodes({ status: 'offline', limit: 10_000 })).items) offline.add(n.name);
          }
          // Agents connected once the answer is in: a node counted online must be one of them.
          seen.first ??= { online: counts.online, reconnecting: counts.reconnecting, connected: fleet.connected };
          if (allOnlineInApiMs < 0 && counts.online === o.agents) allOnlineInApiMs = Date.now() - upAt;
        } catch {
          // Not answering within the storm is what /healthz measures; the list is tried again.
        }
        await sleep(1000);
      }
    })();

    const deadline = Date.now() + 10 * 60_000;
    while (fleet.connected < o.agents && Date.now() < deadline) await sleep(50);
    const allBackMs = Date.now() - upAt;
    if (fleet.connected < o.agents) throw new Error(`storm: only ${fleet.connected} of ${o.agents} agents back after 10 minutes`);
    o.log(`storm: all ${o.agents} back ${allBackMs} ms after the restart; waiting for the node list to agree`);
    while (allOnlineInApiMs < 0 && Date.now() < deadline) await sleep(200);
    polling = false;
    await poller;
    clearInterval(sampler);
    for (let c = lastConnected; c < fleet.connected; c++) backAt.push(allBackMs);
    const peakRssMiB = readMemory(pid).peakRssMiB;
    const metrics = await (await fetch(`${again.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    const refusals = metrics
      .split('\n')
      .filter((l) => l.startsWith('steward_agent_handshakes_refused_total{'))
      .reduce((a, l) => a + Number(l.split(' ').at(-1)), 0);

    // The probe's answers from the restart until all were back.
    const answers = probeLines
      .map((l) => JSON.parse(l) as { at: number; ms?: number; status?: number; error?: string })
      .filter((a) => a.at >= upAt - 200 && a.at <= upAt + allBackMs);
    const firstOk = answers.findIndex((a) => a.ms !== undefined);
    const after = firstOk < 0 ? [] : answers.slice(firstOk);
    const lat = after.filter((a) => a.ms !== undefined).map((a) => a.ms!).sort((a, b) => a - b);
    const slices = (existsSync(loopFile) ? readFileSync(loopFile, 'utf8').trim().split('\n').filter(Boolean) : [])
      .map((l) => JSON.parse(l) as { at: number; loopMaxMs: number; overflows: number; opens?: number })
      // Each slice covers the time since the one before: longer than 250 ms when the loop was blocked.
      .map((s, i, all) => ({ ...s, from: i > 0 ? all[i - 1]!.at : s.at - 250 }));
    /** The monitor's slices overlapping [from, to]. */
    const during = (from: number, to: number) => {
      const hit = slices.filter((s) => s.at >= from && s.from <= to);
      return { loopMaxMs: Math.max(0, ...hit.map((s) => s.loopMaxMs)), overflows: hit.reduce((n, s) => n + s.overflows, 0) };
    };
    const storm = during(upAt, upAt + allBackMs);
    // From the second before the bench saw the endpoint file: the server listened a little earlier.
    const timeline = Array.from({ length: Math.ceil(allBackMs / 1000) + 1 }, (_, i) => {
      const second = i - 1;
      const from = upAt + second * 1000;
      // Slices that ended within this second (each covers the 250 ms before it).
      const hit = slices.filter((x) => x.at > from && x.at <= from + 1000);
      return {
        second,
        welcomes: perSecond[second]?.welcomes ?? 0,
        opens: hit.reduce((n, x) => n + (x.opens ?? 0), 0),
        overflows: hit.reduce((n, x) => n + x.overflows, 0),
        loopMaxMs: Math.max(0, ...hit.map((x) => x.loopMaxMs)),
        cpuPercent: Math.round((perSecond[second]?.cpu ?? 0) * 100),
      };
    });
    backAt.sort((a, b) => a - b);
    return {
      agents: o.agents,
      outageMs: o.outageMs,
      list: o.list ?? 'counts',
      startMs: upAt - spawnedAt,
      allBackMs,
      p50BackMs: backAt[Math.floor(backAt.length * 0.5)] ?? allBackMs,
      p90BackMs: backAt[Math.floor(backAt.length * 0.9)] ?? allBackMs,
      allOnlineInApiMs,
      healthzAnswers: lat.length,
      healthzMaxMs: lat.at(-1) ?? -1,
      healthzP99Ms: lat[Math.floor(lat.length * 0.99)] ?? -1,
      healthzSlowest: after
        .filter((a) => a.ms !== undefined)
        .sort((a, b) => b.ms! - a.ms!)
        .slice(0, 5)
        .map((a) => ({ afterMs: a.at - upAt, ms: a.ms!, ...during(a.at, a.at + a.ms!) })),
      loopMaxMs: storm.loopMaxMs,
      listenOverflows: storm.overflows,
      timeline,
      healthzFailures: after.filter((a) => a.ms === undefined || a.status !== 200).length,
      falseOffline: offline.size,
      firstAnswerOnline: seen.first?.online ?? -1,
      firstAnswerConnected: seen.first?.connected ?? -1,
      firstAnswerReconnecting: seen.first?.reconnecting ?? -1,
      refusals,
      handshakesPerSecond: Math.round(o.agents / (allBackMs / 1000)),
      peakHandshakesPerSecond: peakHps,
      peakCpuPercent: Math.round(peakCpu),
      peakRssMiB,
    };
  } finally {
    probe.kill('SIGTERM');
    await sims?.stop();
    await again?.kill('SIGTERM');
    await server?.kill('SIGKILL');
  }
}

/** The report table's rows (bench/run.ts), with the targets. */
export function stormRows(r: StormResult): Row[] {
  const b = `storm: ${r.agents} simulated agents, kill -9 + restart after ${r.outageMs} ms`;
  return [
    { benchmark: b, metric: 'restart → every agent back', value: r.allBackMs, unit: 'ms', target: 30_000 },
    { benchmark: b, metric: '  50 % / 90 % back', value: `${r.p50BackMs} / ${r.p90BackMs} ms` },
    { benchmark: b, metric: `restart → the node statuses say all online (watched by ${r.list === 'full' ? 'listing every node' : 'status counts + offline list'} every second)`, value: r.allOnlineInApiMs, unit: 'ms' },
    { benchmark: b, metric: '/healthz slowest answer during the storm (every 100 ms)', value: r.healthzMaxMs, unit: 'ms', target: 1000 },
    { benchmark: b, metric: '  p99 / answers / failed', value: `${r.healthzP99Ms} ms / ${r.healthzAnswers} / ${r.healthzFailures}` },
    { benchmark: b, metric: '  slowest answers (sent ms after listening: latency)', value: r.healthzSlowest.map((h) => `${h.afterMs}: ${Math.round(h.ms)}`).join(', ') },
    { benchmark: b, metric: '  while each waited: event-loop delay max / accept-queue overflows', value: r.healthzSlowest.map((h) => `${h.loopMaxMs} ms / ${h.overflows}`).join(', ') },
    { benchmark: b, metric: 'event-loop delay max / accept-queue overflows (machine-wide), restart → all back', value: `${r.loopMaxMs} ms / ${r.listenOverflows}` },
    { benchmark: b, metric: 'seconds -1, 0, 1, 2, 3 after listening: connections / overflows / loop delay max / welcomes', value: r.timeline.slice(0, 5).map((t) => `${t.opens}/${t.overflows}/${t.loopMaxMs}ms/${t.welcomes}`).join(', ') },
    { benchmark: b, metric: 'nodes falsely marked offline', value: r.falseOffline, target: 0 },
    { benchmark: b, metric: 'first node list after restart: online, not more than connected', value: r.firstAnswerOnline - r.firstAnswerConnected, target: 0 },
    { benchmark: b, metric: '  online / connected / reconnecting then', value: `${r.firstAnswerOnline} / ${r.firstAnswerConnected} / ${r.firstAnswerReconnecting}` },
    { benchmark: b, metric: '503 agents_busy refusals', value: r.refusals },
    { benchmark: b, metric: 'handshakes per second (mean / busiest second)', value: `${r.handshakesPerSecond} / ${r.peakHandshakesPerSecond}` },
    { benchmark: b, metric: 'control plane peak CPU (100 = one core)', value: r.peakCpuPercent, unit: '%' },
    { benchmark: b, metric: `control plane peak RSS (bound ${stormRssBoundMiB(r.agents)} MiB)`, value: r.peakRssMiB, unit: 'MiB', target: stormRssBoundMiB(r.agents) },
  ];
}
