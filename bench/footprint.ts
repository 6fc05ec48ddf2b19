/**
 * Footprint of the compiled build (issue 17 item 2): idle memory of the control plane and the
 * agent, the agent's start → welcome time, and the wall time of short CLI calls. Everything
 * runs from dist/ (built first when stale), the agent from dist/steward-agent.mjs.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { StewardClient } from '@steward/client';
import { agentEnv, startControlPlane, stewardArgs } from './control-plane-process.js';
import { makeTempDir, readChildCpuSeconds, readCpuSeconds, readMemory, removeTempDir, spawnTracked, stopProcess, type Memory, type Tracked } from './processes.js';
import { summarize, type Summary } from './stats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const BIN = join(ROOT, 'packages/cli/bin/steward.js');

export interface FootprintResult {
  controlPlaneIdleRssMiB: number;
  controlPlaneIdle: Memory;
  agentIdleRssMiB: number;
  agentIdle: Memory;
  agentPeakRssMiB: number;
  /** Process spawned → "connected to the control plane": first start (enrolls), then restarts. */
  agentFirstWelcomeMs: number;
  agentWelcome: Summary;
  versionMs: Summary;
  nodesLsMs: Summary;
  /** The same without bin/steward.js's freshness check (node dist/steward.mjs). */
  nodesLsDirectMs: Summary;
  /** `steward run --all -- uname -a` over `runAllAgents` real agents (steward-agent.mjs), spawn → exit; null when 0 agents. */
  runAllAgents: number;
  runAllMs: Summary | null;
  /** One more run, `--json` under --cpu-prof, split by the job's own timestamps (ms from spawn). */
  runAllBreakdown: RunAllBreakdown | null;
  /** CPU the timed `run --all` calls cost, per call, summed over the processes: what 2 cores must do. */
  runAllCpu: RunAllCpu | null;
}

/** CPU ms per `run --all` call (one command per agent), from /proc over the timed runs, idle CPU taken out. */
export interface RunAllCpu {
  /** Every agent process together (receive, verify, journal, spawn, result). */
  agentsMs: number;
  /** The programs the agents ran (`uname -a`), reaped by them. */
  childrenMs: number;
  controlPlaneMs: number;
  /** The `steward run` process itself (a child of the bench). */
  cliMs: number;
  /** The sum over the machine's cores: no run can be faster than this with everything local. */
  floorMs: number;
  cores: number;
}

export interface RunAllBreakdown {
  /** CLI spawned → the job stored (CLI start-up, connection, POST /jobs). */
  jobCreated: number;
  /** → the last command dispatched to its agent. */
  lastDispatched: number;
  /** → the last agent said it started. */
  lastStarted: number;
  /** → the last command finished (result stored). */
  lastFinished: number;
  /** → the CLI exited (it saw the end, read the whole job, printed). */
  exited: number;
  /** The CLI's CPU profile of that run. */
  profile: string;
}

async function ensureBuilt(log: (l: string) => void): Promise<void> {
  const state = (await import(pathToFileURL(join(ROOT, 'scripts/build-state.mjs')).href)) as { buildIsFresh(): boolean };
  if (state.buildIsFresh()) return;
  log('footprint: building dist/');
  const { build } = (await import(pathToFileURL(join(ROOT, 'scripts/build.mjs')).href)) as { build(): Promise<unknown> };
  await build();
}

/** Wall time of one CLI call, spawn → exit; throws on a non-zero exit. */
function timed(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    // bin/steward.js is run as a shell runs `steward`: its sh lines choose node's flags (none for
    // these short commands); a bundle is run by node as those lines would run it.
    const [file, ...rest] = args;
    const [cmd, argv] = file === BIN ? [BIN, rest] : [process.execPath, args];
    const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`${args.join(' ')} exited ${code}: ${err}`))));
  });
}

async function repeat(n: number, fn: () => Promise<number>): Promise<Summary> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await fn());
  return summarize(out);
}

/** Starts the agent bundle; resolves with the process and the ms from spawn to its welcome line. */
async function startAgent(url: string, dataDir: string, token?: string, name = 'footprint'): Promise<{ proc: Tracked; welcomeMs: number }> {
  // As the package's bin/steward-agent starts it (scripts/runtime-tuning.mjs).
  const flags = ['--server', url, '--data-dir', dataDir, '--log-level', 'info', '--name', name, ...(token ? ['--enroll-token', token] : [])];
  const started = performance.now();
  const proc = spawnTracked(process.execPath, stewardArgs('cli', 'agent', flags), { cwd: ROOT, env: agentEnv('cli') });
  const welcomeMs = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent not welcomed within 60 s:\n${proc.tail()}`)), 60_000);
    proc.child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('connected to the control plane')) {
        clearTimeout(timer);
        resolve(performance.now() - started);
      }
    });
    void proc.exited.then(() => reject(new Error(`agent exited:\n${proc.tail()}`)));
  });
  return { proc, welcomeMs };
}

/**
 * Starts `n` real agents (a few at a time: each start costs a core for a while), times `steward
 * run --all -- uname -a` over them `runs` times, and stops them.
 */
/** Where one `run --all`'s time goes: the job's timestamps against the CLI's spawn and exit. */
async function breakdownRunAll(env: NodeJS.ProcessEnv, client: StewardClient): Promise<RunAllBreakdown> {
  const dir = join(ROOT, 'bench/results/profiles');
  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));
  const spawnedAt = Date.now();
  const out = await new Promise<string>((resolve, reject) => {
    // No V8 flag, as bin/steward.js starts `run`.
    const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, BIN, 'run', '--all', '--json', '--', 'uname', '-a'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`run --all --json exited ${code}`))));
  });
  const exited = Date.now() - spawnedAt;
  const done = JSON.parse(out.trim().split('\n').pop()!) as { job: { id: string; createdAt: number } };
  const job = await client.getJob(done.job.id);
  const last = (f: (c: (typeof job.commands)[number]) => number | null) => Math.max(...job.commands.map((c) => (f(c) ?? NaN) - spawnedAt));
  return {
    jobCreated: job.createdAt - spawnedAt,
    lastDispatched: last((c) => c.dispatchedAt),
    lastStarted: last((c) => c.startedAt),
    lastFinished: last((c) => c.finishedAt),
    exited,
    profile: join(dir, readdirSync(dir).find((f) => !before.has(f) && f.endsWith('.cpuprofile')) ?? '?'),
  };
}

async function timeRunAll(url: string, env: NodeJS.ProcessEnv, client: StewardClient, n: number, runs: number, log: (l: string) => void, pids: { controlPlane: number; agent: number }): Promise<{ ms: Summary; breakdown: RunAllBreakdown; cpu: RunAllCpu }> {
  const { token } = await client.createEnrollmentToken({ ttlSeconds: 600, uses: n });
  const agents: Tracked[] = [];
  const dirs: string[] = [];
  try {
    const started = performance.now();
    for (let i = 0; i < n; i += 4) {
      await Promise.all(
        Array.from({ length: Math.min(4, n - i) }, async (_, k) => {
          const dir = makeTempDir('agent');
          dirs.push(dir);
          agents.push((await startAgent(url, dir, token, `fleet-${i + k}`)).proc);
        }),
      );
    }
    log(`footprint: ${n} agents welcomed in ${Math.round(performance.now() - started)} ms`);
    await timed([BIN, 'run', '--all', '--', 'uname', '-a'], env); // warm-up (page cache, the server's first job)
    const agentPids = [pids.agent, ...agents.map((a) => a.child.pid!)];
    const cpu = () => ({
      agents: agentPids.reduce((t, p) => t + readCpuSeconds(p), 0),
      children: agentPids.reduce((t, p) => t + readChildCpuSeconds(p), 0),
      controlPlane: readCpuSeconds(pids.controlPlane),
      cli: readChildCpuSeconds(process.pid),
    });
    // What the processes spend idle (heartbeats, stats) is measured over a quiet window first
    // and taken out of the timed window, so the split is what the calls themselves cost.
    const idleFrom = cpu();
    const idleStart = performance.now();
    await new Promise((r) => setTimeout(r, 3000));
    const idleTo = cpu();
    const idleSeconds = (performance.now() - idleStart) / 1000;
    const before = cpu();
    const timedStart = performance.now();
    const ms = await repeat(runs, () => timed([BIN, 'run', '--all', '--', 'uname', '-a'], env));
    const after = cpu();
    const timedSeconds = (performance.now() - timedStart) / 1000;
    const per = (k: keyof typeof before) => {
      const idle = k === 'cli' ? 0 : ((idleTo[k] - idleFrom[k]) / idleSeconds) * timedSeconds;
      return Math.round(((after[k] - before[k] - idle) * 1000) / runs);
    };
    const cores = availableParallelism();
    const split = { agentsMs: per('agents'), childrenMs: per('children'), controlPlaneMs: per('controlPlane'), cliMs: per('cli') };
    const runAllCpu: RunAllCpu = { ...split, cores, floorMs: Math.round((split.agentsMs + split.childrenMs + split.controlPlaneMs + split.cliMs) / cores) };
    return { ms, breakdown: await breakdownRunAll(env, client), cpu: runAllCpu };
  } finally {
    await Promise.all(agents.map((a) => stopProcess(a)));
    for (const d of dirs) removeTempDir(d);
  }
}

export async function runFootprint(o: { runs: number; idleMs?: number; runAllAgents?: number; log: (line: string) => void }): Promise<FootprintResult> {
  await ensureBuilt(o.log);
  const idleMs = o.idleMs ?? 5000;
  const cp = await startControlPlane({ launcher: 'cli' });
  const agentDir = makeTempDir('agent');
  try {
    await new Promise((r) => setTimeout(r, idleMs));
    const controlPlaneIdle = cp.memory();
    const controlPlaneIdleRssMiB = controlPlaneIdle.rssMiB;
    o.log(`footprint: control plane idle RSS ${controlPlaneIdleRssMiB} MiB, PSS ${controlPlaneIdle.pssMiB} MiB, USS ${controlPlaneIdle.ussMiB} MiB`);
    const client = new StewardClient({ baseUrl: cp.url, token: cp.token });
    const { token } = await client.createEnrollmentToken({ ttlSeconds: 600, uses: 1 });
    let { proc, welcomeMs: agentFirstWelcomeMs } = await startAgent(cp.url, agentDir, token);
    const restarts: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      await stopProcess(proc);
      const next = await startAgent(cp.url, agentDir);
      proc = next.proc;
      restarts.push(next.welcomeMs);
    }
    await new Promise((r) => setTimeout(r, idleMs));
    const agentMem = readMemory(proc.child.pid!);
    o.log(`footprint: agent idle RSS ${agentMem.rssMiB} MiB, PSS ${agentMem.pssMiB} MiB, USS ${agentMem.ussMiB} MiB`);
    const env = { STEWARD_SERVER: cp.url, STEWARD_TOKEN: cp.token };
    const versionMs = await repeat(o.runs, () => timed([BIN, '--version'], env));
    const nodesLsMs = await repeat(o.runs, () => timed([BIN, 'nodes', 'ls'], env));
    const nodesLsDirectMs = await repeat(o.runs, () => timed([join(DIST, 'steward.mjs'), 'nodes', 'ls'], env));
    // The measured agent stays up as one of the fleet: `run --all` targets every node, and a
    // stopped one would never answer.
    const runAllAgents = o.runAllAgents ?? 50;
    const runAll = runAllAgents > 0 ? await timeRunAll(cp.url, env, client, runAllAgents - 1, o.runs, o.log, { controlPlane: cp.pid, agent: proc.child.pid! }) : null;
    if (runAll) o.log(`footprint: run --all breakdown (ms from spawn) ${JSON.stringify(runAll.breakdown)}; CPU ms per call ${JSON.stringify(runAll.cpu)}`);
    await stopProcess(proc);
    return {
      controlPlaneIdleRssMiB,
      controlPlaneIdle,
      agentIdleRssMiB: agentMem.rssMiB,
      agentIdle: agentMem,
      agentPeakRssMiB: agentMem.peakRssMiB,
      agentFirstWelcomeMs: Math.round(agentFirstWelcomeMs),
      agentWelcome: summarize(restarts),
      versionMs,
      nodesLsMs,
      nodesLsDirectMs,
      runAllAgents,
      runAllMs: runAll?.ms ?? null,
      runAllBreakdown: runAll?.breakdown ?? null,
      runAllCpu: runAll?.cpu ?? null,
    };
  } finally {
    await cp.stop();
    removeTempDir(agentDir);
  }
}
