import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AGENT_ENV, AGENT_NODE_FLAGS, SERVER_NODE_FLAGS } from '../scripts/runtime-tuning.mjs';
import { makeTempDir, readCpuSeconds, readMemory, readSyscalls, removeTempDir, spawnTracked, stopProcess, type Memory, type Tracked } from './processes.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const STEWARD_BIN = join(ROOT, 'packages/cli/bin/steward.js');
/** The agent bundle (built with dist/ by bin/steward.js, which every bench's control plane runs first). */
const AGENT_BUNDLE = join(ROOT, 'dist/steward-agent.mjs');
const LAUNCHER = join(ROOT, 'bench/launcher.ts');
const SQL_TRACE = pathToFileURL(join(ROOT, 'bench/sql-trace.ts')).href;

/** `cli`: node_modules/.bin/steward; `direct`: bench/launcher.ts calling startServer/startAgent. */
export type Launcher = 'cli' | 'direct';

/** The node arguments that run `steward <kind> <flags>` with the chosen launcher. */
export function stewardArgs(launcher: Launcher, kind: 'server' | 'agent', flags: string[], nodeArgs: string[] = []): string[] {
  if (launcher === 'direct') return [...nodeArgs, '--import', 'tsx', LAUNCHER, kind, ...flags];
  // Started as they run for real: the control plane as `steward server` (with the flags of
  // bin/steward.js's first line), the agent as the package's bin/steward-agent starts it.
  return kind === 'server' ? [...nodeArgs, ...SERVER_NODE_FLAGS, STEWARD_BIN, kind, ...flags] : [...nodeArgs, ...AGENT_NODE_FLAGS, AGENT_BUNDLE, ...flags];
}

/** Environment for an agent started with stewardArgs (the package's launcher sets the same). */
export const agentEnv = (launcher: Launcher): NodeJS.ProcessEnv => (launcher === 'cli' ? { ...process.env, ...AGENT_ENV } : process.env);

export interface ControlPlaneProcess {
  pid: number;
  url: string;
  /** The admin API token. */
  token: string;
  dataDir: string;
  /** ws:// URL of the V8 inspector when started with `inspect`. */
  inspectorUrl: string | null;
  memory(): Memory;
  cpuSeconds(): number;
  /** Its read and write system calls so far (null where /proc hides them). */
  syscalls(): { reads: number; writes: number } | null;
  /** Throws with the process output if it died. */
  assertAlive(): void;
  stop(): Promise<void>;
}

export interface StartOptions {
  launcher: Launcher;
  /** Opens the V8 inspector on a free port so the bench can profile a chosen window. */
  inspect?: boolean;
  /** Preloads bench/sql-trace.ts (times every SQLite statement); needs `inspect` to read it. */
  sqlStats?: boolean;
  startTimeoutMs?: number;
  /** A store other than the data dir's SQLite file (`--db`, e.g. a postgres:// URL). */
  db?: string;
  /** Extra environment of the control plane. */
  env?: NodeJS.ProcessEnv;
  /** Extra node flags (experiments with V8 settings). */
  nodeFlags?: string[];
}

/** Starts `steward server` on a free port with SQLite in a fresh temp dir, and waits until it serves. */
export async function startControlPlane(o: StartOptions): Promise<ControlPlaneProcess> {
  const dataDir = makeTempDir('server');
  const flags = ['--listen', '127.0.0.1:0', '--data-dir', dataDir, '--log-level', 'warn', ...(o.db ? ['--db', o.db] : [])];
  const nodeArgs = [...(o.inspect || o.sqlStats ? ['--inspect=127.0.0.1:0'] : []), ...(o.sqlStats ? ['--import', 'tsx', '--import', SQL_TRACE] : []), ...(o.nodeFlags ?? [])];
  const proc = spawnTracked(process.execPath, stewardArgs(o.launcher, 'server', flags, nodeArgs), {
    cwd: ROOT,
    ...(o.env ? { env: { ...process.env, ...o.env } } : {}),
  });
  let inspectorUrl: string | null = null;
  proc.child.stderr?.on('data', (chunk: Buffer) => {
    const m = /Debugger listening on (ws:\/\/\S+)/.exec(chunk.toString('utf8'));
    if (m) inspectorUrl = m[1]!;
  });
  const pid = proc.child.pid;
  if (pid === undefined) throw new Error('could not spawn the control plane');
  const endpointFile = join(dataDir, 'endpoint.json');
  const tokenFile = join(dataDir, 'admin.token');
  const deadline = Date.now() + (o.startTimeoutMs ?? 60_000);
  let url = '';
  while (!url) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`control plane exited during start (${proc.child.exitCode ?? proc.child.signalCode}):\n${proc.tail()}`);
    }
    if (Date.now() > deadline) {
      await stopProcess(proc, 1000);
      throw new Error(`control plane did not start within ${o.startTimeoutMs ?? 60_000} ms:\n${proc.tail()}`);
    }
    if (existsSync(endpointFile) && existsSync(tokenFile)) {
      try {
        const endpoint = JSON.parse(readFileSync(endpointFile, 'utf8')) as { url: string; pid?: number };
        if (endpoint.pid === undefined || endpoint.pid === pid) url = endpoint.url;
      } catch {
        // being written; try again
      }
    }
    if (!url) await new Promise((r) => setTimeout(r, 50));
  }
  if (nodeArgs.length) {
    while (!inspectorUrl && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }
  const token = readFileSync(tokenFile, 'utf8').trim();
  return {
    pid,
    url,
    token,
    dataDir,
    inspectorUrl,
    memory: () => readMemory(pid),
    cpuSeconds: () => readCpuSeconds(pid),
    syscalls: () => readSyscalls(pid),
    assertAlive: () => assertAlive(proc, 'control plane'),
    stop: async () => {
      await stopProcess(proc);
      removeTempDir(dataDir);
    },
  };
}

export function assertAlive(proc: Tracked, what: string): void {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
    throw new Error(`${what} exited (${proc.child.exitCode ?? proc.child.signalCode}):\n${proc.tail()}`);
  }
}
