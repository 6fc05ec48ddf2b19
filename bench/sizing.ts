import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { EnrollmentTokenCreated, EnrollResponse } from '@steward/protocol';
import { agentConnectionCap } from '../packages/server/src/core/open-files.js';
import { Api } from './api.js';
import { startControlPlane, type ControlPlaneProcess, type Launcher } from './control-plane-process.js';
import { pool, sleep } from './concurrency.js';
import type { Row } from './report.js';
import { simInventory } from './sim-agent.js';
import { SimHosts } from './sim-host.js';

/**
 * Issue 16 item 7: the largest fleet one control plane holds with 15 s heartbeats. Steps the
 * number of simulated agents up (each step: enroll and connect the new ones, let the burst
 * settle for more than one interval, then watch a window of two intervals) and measures the
 * control plane's CPU, event-loop delay, RSS and heartbeat processing, until a step saturates.
 */

export const SIZING_HEARTBEAT_MS = 15_000;
/** Saturation: more than this share of one core, over a whole window. */
export const SIZING_CPU_LIMIT_PERCENT = 80;

export interface SizingOptions {
  db: 'sqlite' | 'postgres';
  /** Fleet sizes to step through, ascending. */
  steps: number[];
  /** Measured window per step, s (default two heartbeat intervals). */
  windowSeconds: number;
  launcher: Launcher;
  /** Where the control plane writes a CPU profile of its whole run (`--profile`); none when unset. */
  profileDir?: string;
  log: (line: string) => void;
}

export interface SizingStep {
  agents: number;
  /** Control-plane CPU over the window, % of one core. */
  cpuPercent: number;
  /** Event-loop delay over the window (prom-client's monitorEventLoopDelay), ms. */
  loopP99Ms: number;
  loopMaxMs: number;
  /** /healthz from a separate process every 250 ms during the window. */
  healthzP99Ms: number;
  healthzMaxMs: number;
  rssMiB: number;
  /** Heartbeats the agents sent in the window, per second. */
  heartbeatsPerSecond: number;
  /**
   * Heartbeat processing lag at the window's end: the oldest `last_seen_at` of a connected node
   * (read from the store, not through the control plane) minus the longest a heartbeat may be
   * due (interval + 10 % jitter); ≤ 0 means every heartbeat was stored in time.
   */
  heartbeatLagMs: number;
  /** Nodes not `online` at the window's end, and agent disconnects during the window. */
  notOnline: number;
  disconnects: number;
  /** Connecting this step's new agents: s. */
  connectSeconds: number;
  /** Files the control plane held open at the window's end (one socket per agent), and its limit. */
  openFiles: number;
  openFileLimit: number | null;
  /** Why this step counts as saturated (empty: it does not). */
  saturated: string[];
}

export interface SizingResult {
  db: 'sqlite' | 'postgres';
  heartbeatMs: number;
  windowSeconds: number;
  steps: SizingStep[];
  /** The largest step that did not saturate, and what saturated first above it (null: none did). */
  largestHealthy: number | null;
  firstSaturation: string | null;
  /** Straight-line fit over the healthy steps: CPU % of a core and RSS MiB per 1,000 agents. */
  cpuPercentPer1000: number | null;
  rssMiBPer1000: number | null;
}

const ENROLL_CONCURRENCY = 64;
const CONNECT_TIMEOUT_MS = 300_000;
/** Simulated agents per host process: well inside one process's open-file limit. */
const AGENTS_PER_HOST = 6000;

export async function runSizing(o: SizingOptions): Promise<SizingResult> {
  const pgDb = o.db === 'postgres' ? await createPostgresDatabase() : null;
  const env = { STEWARD_HEARTBEAT_INTERVAL_MS: String(SIZING_HEARTBEAT_MS), STEWARD_AGENT_PACKAGE_BUILD: 'off' };
  // --cpu-prof writes the profile when the control plane exits (the SIGTERM at the end): the whole run.
  const cp = await startControlPlane({ launcher: o.launcher, db: pgDb?.url, env, nodeFlags: o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : [] });
  const api = new Api(cp.url, cp.token, 4);
  const enrollApi = new Api(cp.url, null, ENROLL_CONCURRENCY);
  // The agents live in child processes, so the bench's own open-file limit caps nothing: the
  // control plane's is the one that counts (one socket per agent).
  const hosts = new SimHosts(cp.url, AGENTS_PER_HOST);
  const probeLines: string[] = [];
  const probe = spawn(process.execPath, [join(import.meta.dirname, 'healthz-probe.mjs'), cp.url, '250'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let partial = '';
  probe.stdout.on('data', (d: Buffer) => {
    const parts = (partial + d.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    probeLines.push(...parts);
  });
  const lastSeen = o.db === 'sqlite' ? sqliteLastSeen(join(cp.dataDir, 'steward.db')) : postgresLastSeen(pgDb!.url);
  const steps: SizingStep[] = [];
  try {
    const max = o.steps[o.steps.length - 1]!;
    const { token } = await api.post<EnrollmentTokenCreated>('/api/v1/enrollment-tokens', { uses: max, ttlSeconds: 24 * 3600 });
    o.log(`sizing (${o.db}): control plane pid ${cp.pid}; steps ${o.steps.join(', ')}; ${SIZING_HEARTBEAT_MS / 1000} s heartbeats; ${o.windowSeconds} s windows`);
    const cpFileLimit = openFileLimit(cp.pid);
    if (cpFileLimit !== null) o.log(`sizing: the control plane may hold ${cpFileLimit} open files (one socket per agent)`);
    for (const target of o.steps) {
      const tConnect = performance.now();
      const from = hosts.size;
      const width = String(max).length;
      const enrolled = await pool(target - from, ENROLL_CONCURRENCY, (i) => {
        const name = `size-${String(from + i + 1).padStart(width, '0')}`;
        return enrollApi.post<EnrollResponse>('/agent/v1/enroll', { token, name, inventory: simInventory(name) });
      });
      hosts.add(enrolled.map((e) => ({ name: e.name, credential: e.credential })));
      const deadline = Date.now() + CONNECT_TIMEOUT_MS;
      let welcomed = 0;
      let full = 0;
      let lastLog = Date.now();
      while (Date.now() < deadline) {
        const c = await hosts.counters();
        welcomed = c.welcomed;
        if (Date.now() - lastLog > 15_000) {
          lastLog = Date.now();
          o.log(`sizing: connecting: ${welcomed} of ${target} welcomed, ${c.connected} connected, ${c.disconnects} disconnects, ${c.serverErrors} warnings`);
        }
        if (welcomed >= target) break;
        cp.assertAlive();
        hosts.assertAlive();
        // Refused for capacity: the control plane holds all the agents it may (docs/scaling.md, open files).
        full = (await scrapeMetrics(cp))('steward_agent_handshakes_refused_total{reason="capacity"}') ?? 0;
        if (full > 0) {
          await sleep(10_000); // the refused agents' Retry-After: let any room left fill
          welcomed = (await hosts.counters()).welcomed;
          break;
        }
        await sleep(1000);
      }
      const late = target - welcomed;
      const connectSeconds = Math.round((performance.now() - tConnect) / 100) / 10;
      if (late > 0) {
        // Not welcomed: the control plane no longer takes on agents at this size.
        const files = openFiles(cp.pid);
        const cap = (await scrapeMetrics(cp))('steward_agent_connections_limit');
        const why = full > 0
          ? [`${late} of this step's ${target - from} new agents refused: the control plane holds its cap of ${cap} agent connections (${cpFileLimit !== null && cap === agentConnectionCap(0, cpFileLimit) ? `its open-file limit ${cpFileLimit} minus the reserve for the API and the store` : 'STEWARD_LIMIT_AGENT_CONNECTIONS'})`]
          : [`${late} of this step's ${target - from} new agents not welcomed within ${CONNECT_TIMEOUT_MS / 1000} s`];
        if (cpFileLimit !== null && files >= cpFileLimit - 64) why.push(`the control plane holds ${files} of its ${cpFileLimit} open files`);
        steps.push({ agents: target, cpuPercent: -1, loopP99Ms: -1, loopMaxMs: -1, healthzP99Ms: -1, healthzMaxMs: -1, rssMiB: cp.memory().rssMiB, heartbeatsPerSecond: -1, heartbeatLagMs: -1, notOnline: -1, disconnects: -1, connectSeconds, openFiles: files, openFileLimit: cpFileLimit, saturated: why });
        o.log(`sizing: ${target} agents: ${why.join('; ')} → saturated`);
        break;
      }
      o.log(`sizing: ${target} agents connected (this step's ${target - from} in ${connectSeconds} s); settling ${SIZING_HEARTBEAT_MS / 1000 + 5} s`);
      // Past the connect burst and one whole interval, so each agent is on its steady beat.
      await sleep(SIZING_HEARTBEAT_MS + 5000);

      await scrapeLoop(cp); // resets the event-loop histogram: the next read covers the window only
      const cpu0 = cp.cpuSeconds();
      const c0 = await hosts.counters();
      const t0 = Date.now();
      await sleep(o.windowSeconds * 1000);
      const seconds = (Date.now() - t0) / 1000;
      const cpuPercent = Math.round(((cp.cpuSeconds() - cpu0) / seconds) * 1000) / 10;
      const c1 = await hosts.counters();
      const loop = await scrapeLoop(cp);
      const t1 = Date.now();
      const seen = await lastSeen();
      const lat = probeLines
        .map((l) => JSON.parse(l) as { at: number; ms?: number })
        .filter((a) => a.at >= t0 && a.at <= t1)
        .map((a) => a.ms ?? 30_000)
        .sort((a, b) => a - b);
      const step: SizingStep = {
        agents: target,
        cpuPercent,
        loopP99Ms: loop.p99Ms,
        loopMaxMs: loop.maxMs,
        healthzP99Ms: lat[Math.floor(lat.length * 0.99)] ?? -1,
        healthzMaxMs: lat.at(-1) ?? -1,
        rssMiB: cp.memory().rssMiB,
        heartbeatsPerSecond: Math.round((c1.heartbeats - c0.heartbeats) / seconds),
        heartbeatLagMs: Math.round(seen.now - seen.oldestOnline - SIZING_HEARTBEAT_MS * 1.1),
        notOnline: seen.notOnline,
        disconnects: c1.disconnects - c0.disconnects,
        connectSeconds,
        openFiles: openFiles(cp.pid),
        openFileLimit: cpFileLimit,
        saturated: [],
      };
      if (step.cpuPercent > SIZING_CPU_LIMIT_PERCENT) step.saturated.push(`CPU ${step.cpuPercent} % > ${SIZING_CPU_LIMIT_PERCENT} % of a core`);
      if (step.heartbeatLagMs > SIZING_HEARTBEAT_MS) step.saturated.push(`heartbeat lag ${step.heartbeatLagMs} ms > the ${SIZING_HEARTBEAT_MS} ms interval`);
      if (step.healthzMaxMs > 1000) step.saturated.push(`/healthz took ${step.healthzMaxMs} ms (> 1 s)`);
      if (step.disconnects > 0 || step.notOnline > 0) step.saturated.push(`${step.disconnects} disconnects, ${step.notOnline} nodes not online`);
      steps.push(step);
      o.log(`sizing: ${target} agents: CPU ${step.cpuPercent} %, loop p99/max ${step.loopP99Ms}/${step.loopMaxMs} ms, /healthz p99/max ${step.healthzP99Ms}/${step.healthzMaxMs} ms, RSS ${step.rssMiB} MiB, ${step.heartbeatsPerSecond} heartbeats/s, lag ${step.heartbeatLagMs} ms${step.saturated.length ? ` → saturated: ${step.saturated.join('; ')}` : ''}`);
      if (step.saturated.length) break;
    }
  } finally {
    o.log(`sizing: stopping ${hosts.size} simulated agents and the control plane`);
    probe.kill('SIGTERM');
    await hosts.stop().catch(() => {});
    await enrollApi.close().catch(() => {});
    await api.close().catch(() => {});
    await lastSeen.close().catch(() => {});
    await cp.stop();
    await pgDb?.drop().catch(() => {});
  }
  const healthy = steps.filter((s) => s.saturated.length === 0);
  const firstBad = steps.find((s) => s.saturated.length > 0);
  return {
    db: o.db,
    heartbeatMs: SIZING_HEARTBEAT_MS,
    windowSeconds: o.windowSeconds,
    steps,
    largestHealthy: healthy.at(-1)?.agents ?? null,
    firstSaturation: firstBad ? `${firstBad.agents} agents: ${firstBad.saturated.join('; ')}` : null,
    cpuPercentPer1000: slope(healthy.map((s) => [s.agents, s.cpuPercent])),
    rssMiBPer1000: slope(healthy.map((s) => [s.agents, s.rssMiB])),
  };
}

/** Least-squares slope per 1,000 agents; null under two points. */
function slope(points: [number, number][]): number | null {
  if (points.length < 2) return null;
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxx === 0 ? null : Math.round((sxy / sxx) * 1000 * 100) / 100;
}

/**
 * One scrape of the control plane's /metrics: a lookup of a sample by its name with its labels,
 * as printed (null when absent). Each scrape resets prom-client's event-loop histogram.
 */
async function scrapeMetrics(cp: ControlPlaneProcess): Promise<(name: string) => number | null> {
  const res = await fetch(`${cp.url}/metrics`, { headers: { authorization: `Bearer ${cp.token}` } });
  const lines = (await res.text()).split('\n');
  return (name) => {
    const line = lines.find((l) => l.startsWith(`${name} `));
    return line ? Number(line.slice(name.length + 1)) : null;
  };
}

/** The event-loop delay since the previous scrape. */
async function scrapeLoop(cp: ControlPlaneProcess): Promise<{ p99Ms: number; maxMs: number }> {
  const sample = await scrapeMetrics(cp);
  const ms = (name: string) => {
    const v = sample(name);
    return v === null ? -1 : Math.round(v * 1000 * 10) / 10;
  };
  return { p99Ms: ms('steward_nodejs_eventloop_lag_p99_seconds'), maxMs: ms('steward_nodejs_eventloop_lag_max_seconds') };
}

interface LastSeen {
  (): Promise<{ now: number; oldestOnline: number; notOnline: number }>;
  close(): Promise<void>;
}

/** Read beside the control plane (WAL allows a reader), so measuring costs it nothing. */
function sqliteLastSeen(path: string): LastSeen {
  let db: Database.Database | null = null;
  const read = async () => {
    db ??= new Database(path, { readonly: true, fileMustExist: true });
    const now = Date.now();
    const r = db.prepare("select min(case when status = 'online' then last_seen_at end) as oldest, sum(case when status = 'online' then 0 else 1 end) as other from nodes").get() as { oldest: number | null; other: number | null };
    return { now, oldestOnline: r.oldest ?? now, notOnline: r.other ?? 0 };
  };
  return Object.assign(read, { close: async () => void db?.close() });
}

function postgresLastSeen(url: string): LastSeen {
  const client = new pg.Client({ connectionString: url });
  let connected: Promise<unknown> | null = null;
  const read = async () => {
    connected ??= client.connect();
    await connected;
    const now = Date.now();
    const r = await client.query<{ oldest: string | null; other: string | null }>("select min(case when status = 'online' then last_seen_at end) as oldest, sum(case when status = 'online' then 0 else 1 end) as other from nodes");
    return { now, oldestOnline: r.rows[0]?.oldest ? Number(r.rows[0].oldest) : now, notOnline: Number(r.rows[0]?.other ?? 0) };
  };
  return Object.assign(read, { close: async () => void (connected ? await client.end() : undefined) });
}

/** A fresh database on the PostgreSQL server of STEWARD_TEST_PG_URL (or STEWARD_BENCH_PG_URL), dropped afterwards. */
async function createPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = process.env.STEWARD_BENCH_PG_URL ?? process.env.STEWARD_TEST_PG_URL;
  if (!base) throw new Error('sizing on PostgreSQL needs STEWARD_BENCH_PG_URL or STEWARD_TEST_PG_URL (a server where the user may CREATE DATABASE)');
  const name = `steward_sizing_${randomBytes(6).toString('hex')}`;
  const admin = async (q: string) => {
    const c = new pg.Client({ connectionString: base });
    await c.connect();
    try {
      await c.query(q);
    } finally {
      await c.end().catch(() => {});
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const u = new URL(base);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** A process's open-file limit (Linux /proc; null elsewhere). */
function openFileLimit(pid: number): number | null {
  try {
    const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
    const m = /^Max open files\s+(\d+)/m.exec(limits);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function openFiles(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

export function sizingRows(r: SizingResult): Row[] {
  const b = `sizing (${r.db}, ${r.heartbeatMs / 1000} s heartbeats, ${r.windowSeconds} s windows)`;
  const rows: Row[] = r.steps.map((s) => ({
    benchmark: b,
    metric: `${s.agents} agents: CPU % / loop p99 / healthz max / RSS / hb/s / hb lag / open files`,
    value: `${s.cpuPercent} % / ${s.loopP99Ms} ms / ${s.healthzMaxMs} ms / ${s.rssMiB} MiB / ${s.heartbeatsPerSecond} / ${s.heartbeatLagMs} ms / ${s.openFiles} of ${s.openFileLimit ?? '?'}${s.saturated.length ? ` SATURATED: ${s.saturated.join('; ')}` : ''}`,
  }));
  rows.push({ benchmark: b, metric: 'largest healthy step', value: r.largestHealthy ?? 'none' });
  rows.push({ benchmark: b, metric: 'first saturation', value: r.firstSaturation ?? `none up to ${r.steps.at(-1)?.agents ?? 0}` });
  rows.push({ benchmark: b, metric: 'per 1,000 agents: CPU % of a core / RSS MiB', value: `${r.cpuPercentPer1000 ?? '?'} / ${r.rssMiBPer1000 ?? '?'}` });
  return rows;
}
