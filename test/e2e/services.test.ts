import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '@steward/client';
import type { ServicePut, StewardEvent } from '@steward/protocol';
import { freePort, heartbeatsAfter, startAgentProcess, startServerProcess, STEWARD_BIN, tempDir, waitOnline, type AgentProc, type ServerProc } from '../support/processes.js';
import { processGone, waitFor } from '../support/wait.js';
import { ArtifactServer, killServices, removeTestCgroups, CRASHER, HTTP_SERVICE, packTarGz, sha256, SLEEPER, TCP_SERVICE } from '../support/service-artifacts.js';

const PARENT = `steward-e2e-${randomBytes(4).toString('hex')}`;
const AGENT_CONFIG = `service:\n  cgroupParent: ${PARENT}\n  pollIntervalMs: 100\n`;

function ask(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    let out = '';
    s.on('data', (d) => (out += d));
    s.on('end', () => resolve(out.trim()));
    s.on('error', reject);
  });
}

function cli(server: ServerProc, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [STEWARD_BIN, '--server', server.url, '--token', server.token, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('services end to end (real control plane, agents and service processes)', { timeout: 90_000 }, () => {
  let artifacts: ArtifactServer;
  const cleanup: Array<() => Promise<void>> = [];
  const pids: number[] = [];

  beforeAll(async () => {
    artifacts = await new ArtifactServer().start();
  });
  afterAll(async () => {
    await artifacts.stop();
    removeTestCgroups(PARENT);
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
    for (const pid of pids.splice(0)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });

  async function agent(server: ServerProc, name: string, labels: string[] = []): Promise<AgentProc> {
    const { token } = await server.client.createEnrollmentToken({ uses: 1 });
    const a = startAgentProcess({ server: server.url, token, name, labels, config: AGENT_CONFIG });
    // Services outlive their agent by design; whatever a failed test left running ends here.
    cleanup.push(async () => killServices(a.dataDir));
    cleanup.push(() => a.kill('SIGKILL'));
    await waitOnline(server, name, a);
    return a;
  }

  /** Every `service.state` event from now on, in order (the stream closes at cleanup). */
  async function serviceEvents(server: ServerProc): Promise<StewardEvent[]> {
    const events: StewardEvent[] = [];
    const stream = await server.client.openEvents({ kinds: ['service.state'] });
    cleanup.push(async () => stream.close());
    void (async () => {
      for await (const e of stream) events.push(e.event);
    })().catch(() => {});
    return events;
  }

  async function setup(): Promise<ServerProc> {
    const server = await startServerProcess();
    cleanup.push(() => server.kill('SIGKILL'));
    return server;
  }

  async function nodeState(server: ServerProc, service: string, node: string) {
    const s = await server.client.getService(service).catch(() => null);
    return s?.nodes.find((n) => n.nodeName === node) ?? null;
  }

  it('installs on targeted nodes, shows per-node state, survives kill -9 of the agent (re-adopted, not restarted), and DELETE uninstalls', async () => {
    const server = await setup();
    const a1 = await agent(server, 'svc-a', ['role=web']);
    await agent(server, 'svc-b', ['role=db']);
    const events = await serviceEvents(server);

    const port = await freePort();
    const bytes = await packTarGz({ run: TCP_SERVICE });
    const spec: ServicePut = {
      version: '1.0.0',
      artifact: { url: artifacts.put('web-1.tgz', bytes), sha256: sha256(bytes) },
      command: './run',
      env: { PORT: String(port), VERSION: 'v1' },
      health: { tcp: { port }, intervalMs: 50, graceMs: 20000 },
      target: { selector: 'role=web' },
    };
    const { service, created } = await server.client.putService('web', spec);
    expect(created).toBe(true);
    expect(service).toMatchObject({ name: 'web', revision: 1, targeted: 1 });
    // Same spec again: nothing changes.
    expect((await server.client.putService('web', spec)).service.revision).toBe(1);

    const running = await waitFor('running on svc-a', async () => {
      const n = await nodeState(server, 'web', 'svc-a');
      return n?.state === 'running' && n.revision === 1 ? n : null;
    });
    pids.push(running.pid!);
    expect(running, JSON.stringify(running.exits)).toMatchObject({ version: '1.0.0', restarts: 0, limits: 'none' });
    expect(running.uptimeMs).toBeGreaterThanOrEqual(0);
    expect(await ask(port)).toBe('v1');
    expect((await server.client.getService('web')).nodes.map((n) => n.nodeName)).toEqual(['svc-a']);
    await waitFor('service.state events', () => events.some((e) => e.kind === 'service.state' && e.state === 'running' && e.service === 'web'));

    // kill -9 of the agent: the service keeps answering; the restarted agent re-adopts it.
    await a1.kill('SIGKILL');
    expect(processGone(running.pid!)).toBe(false);
    expect(await ask(port)).toBe('v1');
    const again = startAgentProcess({ server: server.url, dataDir: a1.dataDir, name: 'svc-a', config: AGENT_CONFIG });
    cleanup.push(() => again.kill('SIGKILL'));
    await waitOnline(server, 'svc-a', again);
    await waitFor('re-adopted', () => again.output().includes('re-adopted a running service'));
    // Heartbeats sent after the re-adoption carry the restarted agent's full service report.
    await heartbeatsAfter(server, 'svc-a');
    const after = await nodeState(server, 'web', 'svc-a');
    expect(after).toMatchObject({ state: 'running', pid: running.pid, restarts: 0, startedAt: running.startedAt });
    expect(await ask(port)).toBe('v1');
    const adoptedPid = running.pid!;

    // Logs through the API and the CLI.
    const logs = await server.client.serviceLogs('web', { node: 'svc-a' });
    expect(logs.data).toContain(`listening on ${port}`);
    // -f keeps following: start it, then make the service print more (a new connection logs nothing,
    // so restart it through the API), and see the new output arrive.
    const follow = spawn(process.execPath, [STEWARD_BIN, '--server', server.url, '--token', server.token, 'services', 'logs', 'web', '--node', 'svc-a', '-f'], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanup.push(async () => void follow.kill('SIGKILL'));
    let followed = '';
    follow.stdout.on('data', (d) => (followed += d));
    await waitFor('logs -f shows the tail', () => followed.includes(`listening on ${port}`));
    const before = followed.split('listening on').length;
    const restarted = await server.client.serviceAction('web', 'restart', 'svc-a');
    pids.push(restarted.pid!);
    await waitFor('logs -f shows new output', () => followed.split('listening on').length > before, { timeoutMs: 20_000 });
    // It came through the stream of one running follow command, not a poll that ended.
    const [followCmd] = (await server.client.listCommands({ type: 'service.logs', node: 'svc-a', state: 'running' })).items;
    expect(followCmd).toMatchObject({ payload: { name: 'web', follow: true } });
    const followExit = new Promise<number | null>((resolve) => follow.on('close', resolve));
    follow.kill('SIGINT');
    // Ctrl-C cancels the remote command and exits 130 once it ended.
    expect(await followExit).toBe(130);
    expect(await server.client.getCommand(followCmd!.id)).toMatchObject({ state: 'cancelled' });
    const shown = await cli(server, ['services', 'show', 'web']);
    expect(shown.code).toBe(0);
    // An operator restart is not counted as a restart.
    expect(shown.stdout).toMatch(/svc-a\s+1\.0\.0\s+1\s+running\s+0/);

    // DELETE: stopped, files removed, rows gone.
    const last = (await nodeState(server, 'web', 'svc-a'))!;
    await server.client.deleteService('web');
    await waitFor('process gone', () => processGone(last.pid!) && processGone(adoptedPid));
    await waitFor('files gone', () => !existsSync(join(a1.dataDir, 'services', 'web')));
    await expect(server.client.getService('web')).rejects.toMatchObject({ status: 404 });
    await waitFor('no services listed', async () => (await server.client.listServices()).items.length === 0);
  });

  it('an upgrade whose health check fails is rolled back by the node, and the old version answers again', async () => {
    const server = await setup();
    await agent(server, 'svc-up');
    const port = await freePort();
    const good = await packTarGz({ run: TCP_SERVICE });
    const bad = await packTarGz({ run: '#!/bin/sh\necho "2.0.0 never listens"\nexec sleep 1000\n' });
    const base = {
      command: './run',
      target: { nodes: ['svc-up'] },
    };
    // The good version gets a generous grace (a loaded CI machine starts node slowly); the broken one a short one.
    const slow = { health: { tcp: { port }, intervalMs: 50, graceMs: 20_000 } };
    const quick = { health: { tcp: { port }, intervalMs: 50, graceMs: 1500 } };
    // Both versions go through `steward services apply --wait` (a spec file; JSON is YAML), which follows the rollout.
    const specFile = (name: string, spec: object) => {
      const f = join(tempDir('steward-svc-spec-'), name);
      writeFileSync(f, JSON.stringify({ name: 'api', ...spec }));
      return f;
    };
    const applyV1 = await cli(server, ['services', 'apply', specFile('v1.yaml', { ...base, ...slow, version: '1.0.0', artifact: { url: artifacts.put('api-1.tgz', good), sha256: sha256(good) }, env: { PORT: String(port), VERSION: 'v1' } }), '--wait', '--timeout', '60s']);
    expect(applyV1.stderr).toBe('');
    expect(applyV1.code).toBe(0);
    expect(applyV1.stdout).toMatch(/\[svc-up\] running 1\.0\.0/);
    expect(applyV1.stdout).toMatch(/api revision 1 \(1\.0\.0\): 1 of 1 nodes running it\n/);
    const v1 = await waitFor('v1 running', async () => {
      const n = await nodeState(server, 'api', 'svc-up');
      return n?.state === 'running' && n.version === '1.0.0' ? n : null;
    });
    pids.push(v1.pid!);
    expect(await ask(port)).toBe('v1');
    const applyV2 = await cli(server, ['services', 'apply', specFile('v2.yaml', { ...base, ...quick, version: '2.0.0', artifact: { url: artifacts.put('api-2.tgz', bad), sha256: sha256(bad) }, env: { PORT: String(port), VERSION: 'v2' } }), '--wait', '--timeout', '60s']);
    // A failed rollout exits non-zero and says which node and why, not just "applied revision 2".
    expect(applyV2.code).toBe(1);
    expect(applyV2.stdout).toMatch(/api revision 2 \(2\.0\.0\): 0 of 1 nodes running it, 1 failed/);
    expect(applyV2.stderr).toMatch(/error: api on svc-up: rolled back from 2\.0\.0: health check did not pass within 1500 ms.*\(1\.0\.0 (starting|running)\)/);
    const back = await waitFor('rolled back', async () => {
      const n = await nodeState(server, 'api', 'svc-up');
      return n?.revision === 2 && n.lastOutcome?.kind === 'rolled_back' && n.state === 'running' ? n : null;
    });
    pids.push(back.pid!);
    expect(back).toMatchObject({ state: 'running', version: '1.0.0', lastOutcome: { version: '2.0.0' } });
    expect(back.lastOutcome!.reason).toMatch(/health check did not pass within 1500 ms/);
    expect(await ask(port)).toBe('v1');
    const applies = (await server.client.listCommands({ node: 'svc-up', type: 'service.apply' })).items;
    expect(applies.map((c) => [c.state, c.error?.code ?? null])).toEqual(expect.arrayContaining([['failed', 'rolled_back'], ['succeeded', null]]));
    const shown = await cli(server, ['services', 'show', 'api']);
    expect(shown.stdout).toMatch(/rolled back from 2\.0\.0: health check did not pass/);
    // Not sent again: the node has revision 2 (its outcome says why it runs 1.0.0). Every
    // heartbeat's report runs the reconciler; after two more, an apply would have been sent.
    await heartbeatsAfter(server, 'svc-up');
    expect((await server.client.listCommands({ node: 'svc-up', type: 'service.apply' })).items).toHaveLength(2);
    await server.client.deleteService('api');
    await waitFor('stopped', () => processGone(back.pid!));
  });

  it('desired state reaches an agent that was offline when the PUT happened', async () => {
    const server = await setup();
    const a = await agent(server, 'svc-off');
    await a.kill('SIGTERM');
    await waitFor('offline', async () => (await server.client.getNode('svc-off')).status === 'offline' || !(await server.client.getNode('svc-off')).connected);
    const bytes = await packTarGz({ run: SLEEPER });
    await server.client.putService('late', {
      version: '1.0.0',
      artifact: { url: artifacts.put('late.tgz', bytes), sha256: sha256(bytes) },
      command: './run',
      target: { all: true },
    });
    expect((await server.client.getService('late')).nodes).toEqual([]);
    const back = startAgentProcess({ server: server.url, dataDir: a.dataDir, name: 'svc-off', config: AGENT_CONFIG });
    cleanup.push(() => back.kill('SIGKILL'));
    await waitOnline(server, 'svc-off', back);
    const st = await waitFor('installed after reconnect', async () => {
      const n = await nodeState(server, 'late', 'svc-off');
      return n?.state === 'running' ? n : null;
    });
    pids.push(st.pid!);
    expect(st.version).toBe('1.0.0');
    await server.client.deleteService('late');
    await waitFor('stopped', () => processGone(st.pid!));
  });

  it('a crash loop ends fatal with its backoff record, raises an alert, and imperative start works on one node', async () => {
    const server = await setup();
    await agent(server, 'svc-crash');
    const bytes = await packTarGz({ run: CRASHER });
    const dir = tempDir();
    const file = join(dir, 'crashy.yaml');
    writeFileSync(
      file,
      `name: crashy\nversion: "1.0"\nartifact:\n  url: ${artifacts.put('crashy.tgz', bytes)}\n  sha256: ${sha256(bytes)}\ncommand: ./run\nrestart:\n  initialDelayMs: 50\n  fatalAfter: { crashes: 4, withinMs: 900000 }\ntarget: { nodes: [svc-crash] }\n`,
    );
    const applied = await cli(server, ['services', 'apply', file]);
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toMatch(/crashy: created revision 1/);
    const fatal = await waitFor('fatal', async () => {
      const n = await nodeState(server, 'crashy', 'svc-crash');
      return n?.state === 'fatal' ? n : null;
    });
    expect(fatal.exits.map((e) => e.delayMs)).toEqual([50, 75, 113, null]);
    expect(fatal.reason).toMatch(/4 abnormal exits within 900000 ms/);
    await waitFor('alert raised', () => server.output().includes('service crashy is fatal'));
    const ls = await cli(server, ['services', 'ls']);
    expect(ls.stdout).toMatch(/crashy\s+1\.0\s+1\s+1\s+1\s+fatal=1/);

    const started = await server.client.serviceAction('crashy', 'start', 'svc-crash');
    expect(['starting', 'running', 'backoff']).toContain(started.state);
    await waitFor('fatal again', async () => (await nodeState(server, 'crashy', 'svc-crash'))?.state === 'fatal' && (await nodeState(server, 'crashy', 'svc-crash'))!.restarts >= 6);
    await expect(server.client.serviceAction('nope', 'status', 'svc-crash')).rejects.toMatchObject({ status: 404 });
  });

  it('bad input is refused with 400 naming the field, and nothing is stored', async () => {
    const server = await setup();
    const base: ServicePut = {
      version: '1.0.0',
      artifact: { url: 'http://127.0.0.1:1/x.tgz', sha256: 'a'.repeat(64) },
      command: './run',
      target: { all: true },
    };
    const bad = async (name: string, body: unknown, field: string) => {
      const e = await server.client.putService(name, body as ServicePut).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ApiError);
      expect((e as ApiError).status).toBe(400);
      expect(JSON.stringify((e as ApiError).details)).toContain(field);
    };
    await bad('web', { ...base, artifact: { ...base.artifact, artifactSha256: 'b'.repeat(64) } }, 'artifact.url');
    await bad('web', { ...base, artifact: { url: base.artifact.url, sha256: 'xyz' } }, 'sha256');
    await bad('web', { ...base, version: undefined }, 'version');
    await bad('web', { ...base, health: { tcp: { port: 1 }, exec: { command: 'true' } } }, 'health');
    await bad('web', { ...base, target: { selector: '=x' } }, 'target.selector');
    await bad('web', { ...base, restart: { initialDelayMs: 500, maxDelayMs: 100 } }, 'restart.maxDelayMs');
    await bad('Bad/Name', base, 'name');
    expect((await server.client.listServices()).items).toEqual([]);
    const doc = (await server.client.openApi()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/services', '/api/v1/services/{name}', '/api/v1/services/{name}/logs']));
  });

  it('a start-order cycle is refused at PUT with 400 naming the services in it, and nothing is stored', async () => {
    const server = await setup();
    const base: ServicePut = { version: '1.0.0', artifact: { url: 'http://127.0.0.1:1/x.tgz', sha256: 'a'.repeat(64) }, command: './run', target: { nodes: ['none'] } };
    // `a` may name a service that does not exist yet: nothing waits for it until it does.
    await server.client.putService('a', { ...base, after: ['c'] });
    await server.client.putService('b', { ...base, after: ['a'], priority: -1 });
    const refused = async (name: string, body: ServicePut, cycle: string) => {
      const e = await server.client.putService(name, body).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ApiError);
      expect((e as ApiError).status).toBe(400);
      expect((e as ApiError).message).toContain(`start order has a cycle: ${cycle}`);
      expect(JSON.stringify((e as ApiError).details)).toContain('"field":"after"');
    };
    await refused('c', { ...base, after: ['b'] }, 'c → b → a → c');
    await refused('d', { ...base, after: ['d'] }, 'd → d');
    // Changing a stored spec into a cycle is refused too, and the stored spec stays as it was.
    await refused('a', { ...base, after: ['b'] }, 'a → b → a');
    const items = (await server.client.listServices()).items;
    expect(items.map((s) => s.name)).toEqual(['a', 'b']);
    expect(items.find((s) => s.name === 'a')!).toMatchObject({ revision: 1, spec: { after: ['c'] } });
    // Without a cycle the same name is accepted.
    expect((await server.client.putService('c', { ...base, after: ['e'] })).service.name).toBe('c');
  });

  it("a hung (SIGSTOP'd) service is reported unhealthy on the control plane, replaced, and running again", async () => {
    const server = await setup();
    await agent(server, 'svc-hung');
    const events = await serviceEvents(server);
    const port = await freePort();
    const bytes = await packTarGz({ run: HTTP_SERVICE });
    await server.client.putService('hung', {
      version: '1.0.0',
      artifact: { url: artifacts.put('hung.tgz', bytes), sha256: sha256(bytes) },
      command: './run',
      env: { PORT: String(port) },
      health: { http: { url: `http://127.0.0.1:${port}/health` }, intervalMs: 200, timeoutMs: 300, failuresBeforeUnhealthy: 2, graceMs: 20_000 },
      restart: { initialDelayMs: 50 },
      target: { nodes: ['svc-hung'] },
    });
    const first = await waitFor('running', async () => {
      const n = await nodeState(server, 'hung', 'svc-hung');
      return n?.state === 'running' ? n : null;
    });
    pids.push(first.pid!);
    process.kill(first.pid!, 'SIGSTOP');
    const again = await waitFor('running with a new pid', async () => {
      const n = await nodeState(server, 'hung', 'svc-hung');
      return n?.state === 'running' && n.pid !== first.pid ? n : null;
    });
    pids.push(again.pid!);
    expect(again.restarts).toBe(1);
    expect(again.exits.at(-1)!.reason).toMatch(/^unhealthy: health check failed 2 times in a row: http /);
    expect(processGone(first.pid!)).toBe(true);
    const seq = await waitFor('events up to running again', () => {
      const mine = events.filter((e) => e.kind === 'service.state' && e.service === 'hung' && e.nodeId !== null);
      const from = mine.findIndex((e) => e.kind === 'service.state' && e.state === 'unhealthy');
      const rest = from >= 0 ? mine.slice(from).map((e) => (e.kind === 'service.state' ? e.state : null)) : [];
      return rest.includes('running') ? { rest, unhealthy: mine[from]! } : null;
    });
    // unhealthy → restarting (backoff, starting) → running, as the operator sees it.
    expect(seq.rest.slice(0, seq.rest.indexOf('running') + 1)).toEqual(['unhealthy', 'backoff', 'starting', 'running']);
    expect(seq.unhealthy.kind === 'service.state' && seq.unhealthy.reason).toMatch(/health check failed 2 times in a row/);
  });
});
