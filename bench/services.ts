/**
 * Service supervision beside pm2, in one run:
 *  - restart latency: a supervised TCP service exits when asked over TCP; the time from that
 *    request to a *new* process (another pid) accepting a connection on the same port;
 *  - idle overhead: CPU% and RSS of the supervisor while it supervises N idle services
 *    (the Steward agent process; pm2's daemon, "God"), measured over a quiet window.
 * Steward runs as the real stack: control plane + one agent process (under tsx, which inflates
 * RSS), services applied through PUT /api/v1/services. pm2 runs from its programmatic API with a
 * private PM2_HOME in a temp dir.
 */
import { connect } from 'node:net';
import { readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { EnrollmentTokenCreated, Node, Service, ServicePut } from '@steward/protocol';
import { Api } from './api.js';
import { assertAlive, startControlPlane, stewardArgs, agentEnv, type Launcher } from './control-plane-process.js';
import { makeTempDir, readCpuSeconds, readMemory, removeTempDir, spawnTracked, stopProcess, round1 } from './processes.js';
import { summarize, type Summary } from './stats.js';
import { ArtifactServer, killServices, packTarGz, removeTestCgroups, sha256 } from '../test/support/service-artifacts.js';
import { sleep } from './concurrency.js';

export interface ServicesBenchOptions {
  launcher: Launcher;
  reps: number;
  idleServices: number;
  idleSeconds: number;
  log: (line: string) => void;
}

export interface Overhead {
  services: number;
  cpuPercent: number;
  rssMiB: number;
  windowSeconds: number;
}

export interface ServicesResult {
  restart: { steward: Summary; stewardDefaultDelay: Summary; pm2: Summary };
  idle: { stewardAgentNoServices: Overhead; steward: Overhead; pm2: Overhead };
}

/** Greets each connection with its pid; exits with code 1 when a client sends "crash". */
const CRASH_ON_REQUEST = `const net = require('node:net');
net.createServer((s) => {
  s.write(process.pid + '\\n');
  s.on('data', (d) => { if (String(d).includes('crash')) process.exit(1); });
  s.on('error', () => {});
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

const SLEEP = '#!/bin/sh\nexec sleep 100000\n';


/** Connects and reads the greeting (the pid); null when nothing accepts. */
function greet(port: number, timeoutMs = 500): Promise<{ pid: number; socket: import('node:net').Socket } | null> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    let buf = '';
    const t = setTimeout(() => (s.destroy(), resolve(null)), timeoutMs);
    s.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(t);
        resolve({ pid: Number(buf.slice(0, nl)), socket: s });
      }
    });
    s.on('error', () => (clearTimeout(t), resolve(null)));
  });
}

/** One crash: ask the process to exit, then poll until another pid accepts; returns ms. */
async function crashAndTime(port: number): Promise<number> {
  let first = await greet(port, 1000);
  const ready = performance.now() + 15_000;
  while (!first && performance.now() < ready) {
    await sleep(50);
    first = await greet(port, 1000);
  }
  if (!first) throw new Error(`nothing answers on port ${port}`);
  const t0 = performance.now();
  first.socket.write('crash\n');
  first.socket.on('close', () => {});
  const deadline = t0 + 30_000;
  for (;;) {
    const g = await greet(port, 200);
    if (g) {
      g.socket.destroy();
      if (g.pid !== first.pid) return performance.now() - t0;
    }
    if (performance.now() > deadline) throw new Error(`no replacement on port ${port} within 30 s`);
    await sleep(1);
  }
}

async function measureRestarts(port: number, reps: number): Promise<Summary> {
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    samples.push(await crashAndTime(port));
    await sleep(300); // > resetAfterMs / min_uptime: every crash is a fresh first one
  }
  return summarize(samples);
}

async function idleOverhead(pid: number, services: number, seconds: number): Promise<Overhead> {
  const c0 = readCpuSeconds(pid);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const cpu = readCpuSeconds(pid) - c0;
  const wall = (performance.now() - t0) / 1000;
  return { services, cpuPercent: Math.round((cpu / wall) * 10_000) / 100, rssMiB: readMemory(pid).rssMiB, windowSeconds: round1(wall) };
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((ok) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => ok(p));
    });
  });
}

export async function runServices(o: ServicesBenchOptions): Promise<ServicesResult> {
  const artifacts = await new ArtifactServer().start();
  const cgroupParent = `steward-bench-${randomBytes(4).toString('hex')}`;
  const crashTgz = await packTarGz({ 'server.js': CRASH_ON_REQUEST });
  const sleepTgz = await packTarGz({ run: SLEEP });
  const crashUrl = artifacts.put('crash.tgz', crashTgz);
  const sleepUrl = artifacts.put('sleep.tgz', sleepTgz);

  const cp = await startControlPlane({ launcher: o.launcher });
  const api = new Api(cp.url, cp.token, 2);
  const agentDir = makeTempDir('svc-agent');
  const config = join(agentDir, 'agent.yaml');
  writeFileSync(config, `service:\n  cgroupParent: ${cgroupParent}\n`);
  let agent: ReturnType<typeof spawnTracked> | undefined;
  const names: string[] = [];
  try {
    const { token } = await api.post<EnrollmentTokenCreated>('/api/v1/enrollment-tokens', { uses: 1, ttlSeconds: 600 });
    agent = spawnTracked(
      process.execPath,
      stewardArgs(o.launcher, 'agent', ['--server', cp.url, '--enroll-token', token, '--data-dir', agentDir, '--config', config, '--name', 'bench-svc', '--log-level', 'warn']),
    { env: agentEnv(o.launcher) },
  );
    const agentProc = agent;
    const agentPid = agentProc.child.pid!;
    for (;;) {
      assertAlive(agentProc, 'agent');
      const nodes = await api.get<{ items: Node[] }>('/api/v1/nodes');
      if (nodes.items.some((n) => n.name === 'bench-svc' && n.status === 'online')) break;
      await sleep(100);
    }
    o.log(`services: agent pid ${agentPid} online; cgroup parent ${cgroupParent}`);

    const put = async (name: string, spec: ServicePut) => {
      names.push(name);
      await api.call('PUT', `/api/v1/services/${name}`, spec);
    };
    const waitRunning = async (wanted: string[]) => {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const { items } = await api.get<{ items: Service[] }>('/api/v1/services');
        const running = items.filter((s) => wanted.includes(s.name) && s.nodes.some((n) => n.state === 'running')).length;
        if (running === wanted.length) return;
        if (Date.now() > deadline) throw new Error(`only ${running} of ${wanted.length} services running after 120 s`);
        assertAlive(agentProc, 'agent');
        await sleep(200);
      }
    };
    const crashSpec = (port: number, initialDelayMs: number | undefined): ServicePut => ({
      version: '1',
      artifact: { url: crashUrl, sha256: sha256(crashTgz) },
      command: process.execPath,
      args: ['server.js'],
      env: { PORT: String(port) },
      // Each crash comes 300 ms after the replacement is up: resetAfterMs 200 makes every one a
      // first restart; the fatal window is made unreachable so the loop can run.
      restart: { ...(initialDelayMs === undefined ? {} : { initialDelayMs }), resetAfterMs: 200, fatalAfter: { crashes: 1000, withinMs: 1 } },
      target: { all: true },
    });

    o.log('services: idle agent, no services');
    const stewardAgentNoServices = await idleOverhead(agentPid, 0, o.idleSeconds);

    const p1 = await freePort();
    await put('crash-fast', crashSpec(p1, 0));
    await waitRunning(['crash-fast']);
    o.log(`services: steward restart latency (restart delay 0), ${o.reps} crashes`);
    const steward = await measureRestarts(p1, o.reps);

    const p2 = await freePort();
    await put('crash-default', crashSpec(p2, undefined));
    await waitRunning(['crash-default']);
    o.log(`services: steward restart latency (default first delay 100 ms), ${o.reps} crashes`);
    const stewardDefaultDelay = await measureRestarts(p2, o.reps);
    for (const n of ['crash-fast', 'crash-default']) await api.call('DELETE', `/api/v1/services/${n}`, undefined, [204]);

    const idleNames = Array.from({ length: o.idleServices }, (_, i) => `idle-${String(i).padStart(3, '0')}`);
    for (const n of idleNames) await put(n, { version: '1', artifact: { url: sleepUrl, sha256: sha256(sleepTgz) }, command: './run', target: { all: true } });
    await waitRunning(idleNames);
    await sleep(3000);
    o.log(`services: steward agent idle with ${o.idleServices} services, ${o.idleSeconds} s`);
    const stewardIdle = await idleOverhead(agentPid, o.idleServices, o.idleSeconds);
    for (const n of idleNames) await api.call('DELETE', `/api/v1/services/${n}`, undefined, [204]);
    // Uninstalls stop the processes; wait until the agent reports none.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const { items } = await api.get<{ items: Service[] }>('/api/v1/services');
      if (items.length === 0) break;
      await sleep(200);
    }

    const pm2 = await runPm2(o, crashTgz);
    return {
      restart: { steward, stewardDefaultDelay, pm2: pm2.restart },
      idle: { stewardAgentNoServices, steward: stewardIdle, pm2: pm2.idle },
    };
  } finally {
    if (agent) await stopProcess(agent);
    await cp.stop();
    await artifacts.stop();
    // Services outlive their agent by design; anything left is ended through its state file.
    killServices(agentDir);
    removeTempDir(agentDir);
    removeTestCgroups(cgroupParent);
  }
}

async function runPm2(o: ServicesBenchOptions, crashTgz: Buffer): Promise<{ restart: Summary; idle: Overhead }> {
  const home = makeTempDir('pm2');
  process.env.PM2_HOME = home;
  const dir = makeTempDir('pm2-apps');
  const { x } = await import('tar');
  writeFileSync(join(dir, 'crash.tgz'), crashTgz);
  await x({ file: join(dir, 'crash.tgz'), cwd: dir });
  writeFileSync(join(dir, 'run'), SLEEP);
  chmodSync(join(dir, 'run'), 0o755);
  const pm2 = (await import('pm2')).default;
  const call = <T>(fn: (cb: (err: Error | null, v?: T) => void) => void) =>
    new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));
  await call((cb) => pm2.connect(cb as never));
  try {
    const port = await freePort();
    await call((cb) =>
      pm2.start(
        {
          name: 'crash',
          script: join(dir, 'server.js'),
          cwd: dir,
          env: { PORT: String(port) },
          autorestart: true,
          restart_delay: 0,
          min_uptime: 100,
          max_restarts: 1_000_000,
        } as never,
        cb as never,
      ),
    );
    while (!(await greet(port, 200))) await sleep(50);
    o.log(`services: pm2 restart latency, ${o.reps} crashes`);
    const restart = await measureRestarts(port, o.reps);
    await call((cb) => pm2.delete('crash', cb as never));

    for (let i = 0; i < o.idleServices; i++) {
      await call((cb) => pm2.start({ name: `idle-${i}`, script: join(dir, 'run'), interpreter: 'none', cwd: dir } as never, cb as never));
    }
    await sleep(3000);
    const godPid = Number(readFileSync(join(home, 'pm2.pid'), 'utf8'));
    o.log(`services: pm2 daemon pid ${godPid} idle with ${o.idleServices} services, ${o.idleSeconds} s`);
    const idle = await idleOverhead(godPid, o.idleServices, o.idleSeconds);
    return { restart, idle };
  } finally {
    await call((cb) => pm2.killDaemon(cb as never)).catch(() => {});
    pm2.disconnect();
    removeTempDir(home);
    removeTempDir(dir);
  }
}
