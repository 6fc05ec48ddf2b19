import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { StewardClient } from '@steward/client';
import { STEWARD_BIN } from './steward-bin.js';
import { waitFor } from './wait.js';

export const REPO = resolve(import.meta.dirname, '../..');
export { STEWARD_BIN } from './steward-bin.js';

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

export function tempDir(prefix = 'steward-e2e-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => ok(port));
    });
  });
}

export interface Proc {
  child: ChildProcess;
  output(): string;
  /** Sends a signal and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

function launch(args: string[], env: NodeJS.ProcessEnv, bin = STEWARD_BIN, nodeArgs: string[] = []): Proc {
  const child = spawn(process.execPath, [...nodeArgs, bin, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.once('exit', () => children.delete(child));
  return {
    child,
    output: () => out,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** How long a process may take to come up: node + tsx start slowly on a loaded 2-core machine. */
const STARTUP_MS = 60_000;

/** Fast liveness for tests; production defaults are 45 s / 10 s / 15 s. */
export const FAST_TIMINGS = {
  STEWARD_OFFLINE_AFTER_MS: '3000',
  // Nobody marked offline within this of a start (90 s in production, docs/reconnect.md).
  STEWARD_STARTUP_GUARD_MS: '3000',
  STEWARD_DISCONNECT_GRACE_MS: '1000',
  STEWARD_HEARTBEAT_INTERVAL_MS: '500',
  STEWARD_SWEEP_INTERVAL_MS: '100',
  STEWARD_TIMEOUT_GRACE_MS: '1000',
};

/**
 * The URL a started control plane wrote to its endpoint file. If it exits first or does not
 * come up in time, it is killed (a process left behind would load the machine for the next
 * tests) and the error carries its output.
 */
async function listeningUrl(proc: Proc, endpoint: string, what: string): Promise<string> {
  try {
    const r = await waitFor(
      `${what} to listen`,
      (): { url?: string } | false => {
        if (proc.child.exitCode !== null) return {}; // exited: stop waiting, with no URL
        return existsSync(endpoint) && { url: (JSON.parse(readFileSync(endpoint, 'utf8')) as { url: string }).url };
      },
      { timeoutMs: STARTUP_MS },
    );
    if (r.url === undefined) throw new Error(`${what} exited: ${proc.output()}`);
    return r.url;
  } catch (e) {
    await proc.kill('SIGKILL');
    throw e;
  }
}

export interface ServerProc extends Proc {
  url: string;
  port: number;
  dataDir: string;
  token: string;
  client: StewardClient;
}

/**
 * `args`: more `steward server` flags (`--retire-cluster-listen …`). `signingKeyFrom`: another
 * replica's data dir whose command signing key (and secrets key) this one shares (replicas of one store must).
 */
export async function startServerProcess(o: { dataDir?: string; port?: number; db?: string; env?: NodeJS.ProcessEnv; token?: string; args?: string[]; signingKeyFrom?: string; bin?: string; nodeArgs?: string[] } = {}): Promise<ServerProc> {
  const dataDir = o.dataDir ?? tempDir('steward-server-');
  if (o.signingKeyFrom) {
    copyFileSync(join(o.signingKeyFrom, 'command-signing.key'), join(dataDir, 'command-signing.key'));
    // The key sealing stored secrets (service env values) is shared the same way.
    if (existsSync(join(o.signingKeyFrom, 'secrets.key'))) copyFileSync(join(o.signingKeyFrom, 'secrets.key'), join(dataDir, 'secrets.key'));
  }
  const port = o.port ?? (await freePort());
  const endpoint = join(dataDir, 'endpoint.json');
  rmSync(endpoint, { force: true });
  const args = ['server', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--log-level', 'info'];
  if (o.db) args.push('--db', o.db);
  args.push(...(o.args ?? []));
  const proc = launch(args, { ...FAST_TIMINGS, ...o.env }, o.bin, o.nodeArgs);
  const url = await listeningUrl(proc, endpoint, 'the control plane');
  // A second replica on a shared database does not get the token file: the first one made it.
  const token = o.token ?? readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  return { ...proc, url, port, dataDir, token, client: new StewardClient({ baseUrl: url, token, ...endpointCa(endpoint) }) };
}

/** With TLS the endpoint file names the CA local tools trust (`tls/ca.crt`); the test client trusts it too. */
function endpointCa(endpoint: string): { ca?: string } {
  const caFile = (JSON.parse(readFileSync(endpoint, 'utf8')) as { caFile?: string }).caFile;
  return caFile ? { ca: readFileSync(caFile, 'utf8') } : {};
}

export interface AgentProc extends Proc {
  dataDir: string;
}

export function agentConfigFile(dataDir: string, extra = ''): string {
  const path = join(dataDir, 'agent.yaml');
  writeFileSync(path, `reconnect:\n  initialDelayMs: 100\n  maxDelayMs: 500\n  keepaliveMs: 300\nfs:\n  roots: [${JSON.stringify(join(dataDir, 'files'))}]\n${extra}`);
  return path;
}

export function startAgentProcess(o: {
  /** `--server`; absent: the config (`servers:` in `config`) or the environment says. */
  server?: string;
  token?: string;
  dataDir?: string;
  name?: string;
  labels?: string[];
  env?: NodeJS.ProcessEnv;
  /** YAML appended to the agent's config file (module sections, `modules:`…). */
  config?: string;
  /** More `steward agent` flags (`--ca-sha256 …`, `--insecure`). */
  args?: string[];
  /** Another entry point: a compiled CLI, or dist/steward-agent.mjs with `agentOnly` (no `agent` subcommand). */
  bin?: string;
  agentOnly?: boolean;
}): AgentProc {
  const dataDir = o.dataDir ?? tempDir('steward-agent-');
  const args = [...(o.agentOnly ? [] : ['agent']), ...(o.server ? ['--server', o.server] : []), '--data-dir', dataDir, '--config', agentConfigFile(dataDir, o.config), '--log-level', 'info'];
  if (o.token) args.push('--enroll-token', o.token);
  if (o.name) args.push('--name', o.name);
  for (const l of o.labels ?? []) args.push('--label', l);
  args.push(...(o.args ?? []));
  return { ...launch(args, o.env ?? {}, o.bin), dataDir };
}

/** Enrolls a new agent process and waits until its node is online. */
/** `config`: extra agent YAML (resources, capabilities, module sections) appended to the test config. */
export async function addAgent(server: ServerProc, name: string, labels: string[] = [], config?: string): Promise<AgentProc> {
  const { token } = await server.client.createEnrollmentToken({ ttlSeconds: 600, uses: 1 });
  const agent = startAgentProcess({ server: server.url, token, name, labels, config });
  await waitOnline(server, name, agent).catch(async (e: unknown) => {
    await agent.kill('SIGKILL');
    throw e;
  });
  return agent;
}

export async function waitOnline(server: ServerProc, name: string, agent?: Proc, timeoutMs = STARTUP_MS): Promise<void> {
  await waitFor(
    `node ${name} online`,
    async () => {
      if (agent && agent.child.exitCode !== null) throw new Error(`agent exited: ${agent.output()}`);
      const n = await server.client.getNode(name);
      return n.status === 'online' && n.connected;
    },
    { timeoutMs },
  );
}

/**
 * Waits for two heartbeats of node `name` stored after `since` (ms, the control plane's clock,
 * which is this machine's). The second one was sent after `since` whatever was in flight, and
 * the session handles an agent's messages in order: what the agent sent before it (a result, a
 * started) is stored, and the control plane's reaction to it (reconcile, redelivery, service
 * reports) has run. The nearest real "the node has caught up" marker the product exposes
 * (GET /api/v1/nodes/:id lastSeenAt).
 */
export async function heartbeatsAfter(server: ServerProc, name: string, since = Date.now(), timeoutMs = 15_000): Promise<number> {
  let seen = since;
  for (const which of ['first', 'second']) {
    const after = seen;
    seen = await waitFor(`the ${which} heartbeat of ${name} after ${new Date(after).toISOString()}`, async () => {
      const at = (await server.client.getNode(name)).lastSeenAt;
      return at !== null && at > after && at;
    }, { timeoutMs });
  }
  return seen;
}

/** `steward up` (what `npm start` runs): a control plane with its local agent already enrolled. */
export async function startUpProcess(o: { dataDir?: string; port?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ServerProc> {
  const dataDir = o.dataDir ?? tempDir('steward-up-');
  const port = o.port ?? (await freePort());
  const endpoint = join(dataDir, 'endpoint.json');
  rmSync(endpoint, { force: true });
  const proc = launch(['up', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--log-level', 'info'], { ...FAST_TIMINGS, ...o.env });
  const url = await listeningUrl(proc, endpoint, 'steward up');
  const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  return { ...proc, url, port, dataDir, token, client: new StewardClient({ baseUrl: url, token }) };
}
