import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StewardClient } from '@steward/client';
import type { ServicePut } from '@steward/protocol';
import { startServer, type ControlPlane } from '../../src/index.js';
import { BootAgentClient, type Job } from '../../../../test/support/bootagent-client.js';
import { freePort, tempDir } from '../../../../test/support/processes.js';
import { waitFor } from '../../../../test/support/wait.js';

/**
 * BootAgent devices (seed 003) against a real control plane: real HTTP on 127.0.0.1, a client
 * written from the seed's description, admission, services desired state turned into jobs, and
 * job results turned into service states.
 */

let cp: ControlPlane;
let api: StewardClient;
let listen: string;
let dataDir: string;
let artifact: Buffer;
let sha: string;

beforeAll(async () => {
  dataDir = tempDir('steward-bootagent-');
  listen = `127.0.0.1:${await freePort()}`;
  cp = await startServer({ listen: '127.0.0.1:0', dataDir, logLevel: 'warn', sweepIntervalMs: 200, bootagentListen: listen });
  api = new StewardClient({ baseUrl: cp.url, token: readFileSync(cp.adminTokenPath, 'utf8').trim() });
  artifact = Buffer.from(`#!/bin/sh\necho basic agent ${Date.now()}\n`);
  sha = createHash('sha256').update(artifact).digest('hex');
  await api.putArtifact(Readable.from(artifact), { length: artifact.length, name: 'basic.sh' });
});

afterAll(async () => {
  await cp?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A device registered, approved by an operator, registered again. */
async function admitted(hostname: string, labels: Record<string, string> = {}): Promise<{ dev: BootAgentClient; nodeId: string }> {
  const dev = new BootAgentClient(listen, hostname, `sn-${hostname}`);
  const first = await dev.register();
  expect(first.http).toBe(403);
  expect(first.body).toMatchObject({ status: 1, code: 'admission_pending', agentsn: `sn-${hostname}` });
  const adm = await api.approveAdmission(`sn-${hostname}`, { labels });
  const again = await dev.register();
  expect(again).toMatchObject({ http: 200, body: { status: 0, agentsn: `sn-${hostname}` } });
  return { dev, nodeId: adm.nodeId! };
}

function service(nodeId: string, over: Partial<ServicePut> = {}): ServicePut {
  return {
    version: '1.0.0',
    artifact: { artifactSha256: sha, sha256: sha },
    command: './basic.sh',
    env: { PATH: '/usr/bin;/usr/local/bin' },
    limits: { cpuPercent: 10, memoryMB: 20 },
    target: { nodes: [nodeId] },
    ...over,
  };
}

/** Reports until a reply carries a job that `match` picks (the reconciler may queue it a moment later). */
async function jobFrom(dev: BootAgentClient, match: (j: Job) => boolean, fail?: (j: Job) => string | undefined): Promise<Job> {
  return waitFor('a matching job in a status reply', async () => (await dev.cycle(fail)).find(match), { timeoutMs: 15_000 });
}

async function nodeState(name: string, nodeId: string) {
  return (await api.getService(name)).nodes.find((n) => n.nodeId === nodeId);
}

describe('BootAgent devices', () => {
  it('waits for approval, then registers with its tags and appears as a bootagent node', async () => {
    const { dev, nodeId } = await admitted('boot-admit', { svc: 'ecs', cmpt: 'DB' });
    const again = await dev.register();
    expect(again.body.tags).toBe('svc=ecs,cmpt=DB');
    await dev.cycle();
    const node = await api.getNode(nodeId);
    expect(node).toMatchObject({ protocol: 'bootagent', status: 'online' });
    expect(node).toMatchObject({ agentVersion: 'bootagent-1.2.4-x86_64', arch: 'x86_64', hostname: 'boot-admit', modules: ['service'] });
    expect(node.commandTypes.map((t) => t.type).sort()).toEqual(['service.apply', 'service.remove', 'service.restart', 'service.start', 'service.stop']);
    // What the protocol cannot carry is refused at submission.
    for (const type of ['service.logs', 'exec.run']) {
      await expect(api.submitCommand({ node: nodeId, type, payload: { name: 'x' } })).rejects.toMatchObject({ code: 'unknown_command_type' });
    }

    // A rejected device is refused in the seed's shape.
    const bad = new BootAgentClient(listen, 'boot-rejected', 'sn-rejected');
    expect((await bad.register()).http).toBe(403);
    await api.rejectAdmission('sn-rejected');
    expect(await bad.register()).toMatchObject({ http: 403, body: { status: 2, code: 'admission_rejected' } });
    expect(await bad.report()).toMatchObject({ http: 403, body: { status: 2, code: 'admission_rejected' } });
  });

  it('installs a declared service: the job carries a signed URL, checksum, envs and limits, and the result shows running', async () => {
    const { dev, nodeId } = await admitted('boot-install');
    await dev.cycle();
    await api.putService('basic', service(nodeId));
    const job = await jobFrom(dev, (j) => j.action === 'install');
    expect(job).toMatchObject({
      name: 'basic',
      checksum: `SHA256:${sha}`,
      version: '1.0.0',
      envs: { PATH: '/usr/bin;/usr/local/bin' },
      limits: { CPU: '10%', memory: '20M' },
    });
    expect(job.url).toMatch(new RegExp(`^http://${listen}/agent/artifacts/${sha}\\?node=`));
    // The client downloaded and checked the artifact while running the job.
    expect(dev.children.get('basic')?.bytes.equals(artifact)).toBe(true);
    await dev.cycle();
    const s = await waitFor('the service running on the BootAgent', async () => {
      const n = await nodeState('basic', nodeId);
      return n?.state === 'running' && n;
    });
    expect(s).toMatchObject({ revision: 1, version: '1.0.0', lastOutcome: { kind: 'installed' } });
    const [apply] = (await api.listCommands({ node: nodeId, type: 'service.apply' })).items;
    // Its result comes one report (600 s by default) after the job: three intervals, not the default 10 minutes.
    expect(apply).toMatchObject({ state: 'succeeded', timeoutMs: 1_800_000 });

    // The URL is its own credential: changed, unsigned or for another artifact, it is refused.
    const url = new URL(job.url!);
    const tampered = new URL(url);
    tampered.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 60_000));
    for (const u of [tampered.href, `http://${listen}/agent/artifacts/${sha}`, url.href.replace(sha, 'a'.repeat(64))]) {
      const res = await fetch(u);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ status: 2, code: 'bad_signature' });
    }
    expect((await fetch(url)).status).toBe(200);

    // Steward's other services on other nodes and the device's own children are left alone.
    dev.children.set('OwnAgent', { name: 'OwnAgent', version: '9', status: 'running', uptime: 5, envs: {}, limits: undefined, bytes: Buffer.alloc(0) });
    const jobs = await dev.cycle();
    expect(jobs.filter((j) => j.action !== 'config')).toEqual([]);
    expect(dev.children.has('OwnAgent')).toBe(true);
    await api.deleteService('basic');
    await jobFrom(dev, (j) => j.action === 'uninstall' && j.name === 'basic');
  });

  it('stops, restarts, upgrades and uninstalls through jobs', async () => {
    const { dev, nodeId } = await admitted('boot-ops');
    await dev.cycle();
    await api.putService('ops', service(nodeId));
    await jobFrom(dev, (j) => j.action === 'install');
    await dev.cycle();
    await waitFor('running', async () => (await nodeState('ops', nodeId))?.state === 'running');

    const stopping = api.serviceAction('ops', 'stop', nodeId);
    await jobFrom(dev, (j) => j.action === 'stop' && j.name === 'ops');
    expect(dev.children.get('ops')?.status).toBe('stoped');
    await dev.cycle();
    expect(await stopping).toMatchObject({ name: 'ops', state: 'stopped' });
    expect((await nodeState('ops', nodeId))?.state).toBe('stopped');

    const restarting = api.serviceAction('ops', 'restart', nodeId);
    await jobFrom(dev, (j) => j.action === 'restart');
    await dev.cycle();
    expect(await restarting).toMatchObject({ state: 'running' });

    await api.putService('ops', service(nodeId, { version: '1.1.0', env: { MODE: 'fast' } }));
    const up = await jobFrom(dev, (j) => j.action === 'upgrade');
    expect(up).toMatchObject({ name: 'ops', version: '1.1.0', envs: { MODE: 'fast' } });
    await dev.cycle();
    await waitFor('upgraded', async () => {
      const n = await nodeState('ops', nodeId);
      return n?.version === '1.1.0' && n.revision === 2 && n.state === 'running';
    });

    await api.deleteService('ops');
    await jobFrom(dev, (j) => j.action === 'uninstall' && j.name === 'ops');
    expect(dev.children.has('ops')).toBe(false);
    await dev.cycle();
    await waitFor('the remove command succeeded', async () => (await api.listCommands({ node: nodeId, type: 'service.remove' })).items[0]?.state === 'succeeded');
  });

  it('offers a failed job again at the next report, and shows why it failed meanwhile', async () => {
    const { dev, nodeId } = await admitted('boot-flaky');
    await dev.cycle();
    await api.putService('flaky', service(nodeId));
    const first = await jobFrom(dev, (j) => j.action === 'install', () => 'disk full');
    expect(dev.children.has('flaky')).toBe(false);
    // The report carrying the failure gets the same job back.
    const again = (await dev.cycle()).find((j) => j.action === 'install');
    expect(again?.id).toBe(first.id);
    const failed = await waitFor('the failure recorded', async () => {
      const n = await nodeState('flaky', nodeId);
      return n?.state === 'failed' && n;
    });
    expect(failed.reason).toMatch(/errcode 17: disk full/);
    expect(dev.children.get('flaky')?.status).toBe('running');
    await dev.cycle();
    await waitFor('running after the retry', async () => (await nodeState('flaky', nodeId))?.state === 'running');
    const applies = (await api.listCommands({ node: nodeId, type: 'service.apply' })).items;
    expect(applies.map((c) => c.state)).toEqual(['succeeded']);
  });

  it('sends a config job with the new step after the heartbeat interval changes', async () => {
    const { dev, nodeId } = await admitted('boot-config');
    expect(await dev.cycle()).toEqual([]);
    await api.patchNode(nodeId, { heartbeatIntervalMs: 120_000 });
    const [cfg] = await dev.cycle();
    expect(cfg).toMatchObject({ action: 'config', step: 120, svrlist: listen });
    expect(dev.step).toBe(120);
    expect(await dev.cycle()).toEqual([]);
  });

  it('refuses bad bodies with 400 in the seed shape and changes nothing', async () => {
    const { dev, nodeId } = await admitted('boot-bad');
    await dev.cycle();
    await api.putService('strict', service(nodeId));
    const job = await jobFrom(dev, (j) => j.action === 'install');
    const before = (await api.listAdmissions()).items.length;
    const report = { hostname: 'boot-bad', agentsn: 'sn-boot-bad', step: 600, jobs: [{ id: job.id, errcode: 0, message: 'success' }] };
    const cases: [string, unknown, number, string][] = [
      ['/agent/status', '{"hostname": "boot-bad", "jobs": [', 400, 'malformed_body'],
      ['/agent/status', { ...report, agents: 'all of them' }, 400, 'invalid_body'],
      ['/agent/status', { ...report, agents: [{ name: 'strict', status: 'running', uptime: -1 }] }, 400, 'invalid_body'],
      ['/agent/status', { ...report, jobs: [{ id: job.id, errcode: 'ok' }] }, 400, 'invalid_body'],
      ['/agent/status', { ...report, hostname: 'h'.repeat(300) }, 400, 'invalid_body'],
      ['/agent/register', { agentsn: 'sn-nobody' }, 400, 'invalid_body'],
      ['/agent/register', [1, 2, 3], 400, 'invalid_body'],
      ['/agent/register', { hostname: 'x', pad: 'y'.repeat(300 * 1024) }, 413, 'body_too_large'],
      ['/agent/nowhere', {}, 404, 'not_found'],
    ];
    for (const [path, body, http, code] of cases) {
      const r = await dev.post(path, body);
      expect({ path, http: r.http, body: r.body }).toMatchObject({ path, http, body: { status: expect.any(Number), code, message: expect.any(String) } });
      expect(r.body.status).not.toBe(0);
    }
    expect((await api.listAdmissions()).items.length).toBe(before);
    const [apply] = (await api.listCommands({ node: nodeId, type: 'service.apply' })).items;
    expect(apply!.state).toBe('running');
    // A body sent as a form (curl's default content type) is still read as JSON.
    expect((await dev.post('/agent/register', { hostname: 'boot-bad', agentsn: 'sn-boot-bad' }, 'application/x-www-form-urlencoded')).http).toBe(200);
    await api.deleteService('strict');
  });

  it('keeps serving devices through a burst of garbage and unknown devices', async () => {
    const { dev } = await admitted('boot-burst');
    const garbage = Array.from({ length: 150 }, (_, i) =>
      i % 3 === 0
        ? dev.post('/agent/status', '\u0000'.repeat(1000 + i))
        : i % 3 === 1
          ? dev.post('/agent/status', { hostname: `stranger-${i}`, agentsn: `sn-stranger-${i}`, agents: [{ name: 'x', status: 'running' }] })
          : dev.post('/agent/register', { hostname: 1 }),
    );
    const replies = await Promise.all([...garbage, dev.report()]);
    expect(replies.at(-1)).toMatchObject({ http: 200, body: { status: 0 } });
    expect(new Set(replies.slice(0, -1).map((r) => r.http))).toEqual(new Set([400, 403]));
    // Unknown devices wait for approval: each is one pending admission, nothing more.
    const strangers = (await api.listAdmissions({ state: 'pending' })).items.filter((a) => a.externalId.startsWith('sn-stranger-'));
    expect(strangers).toHaveLength(50);
  });

  it('finishes a job whose result comes after a control-plane restart', async () => {
    const { dev, nodeId } = await admitted('boot-restart');
    await dev.cycle();
    await api.putService('durable', service(nodeId));
    const job = await jobFrom(dev, (j) => j.action === 'install');
    expect(dev.results).toEqual([{ id: job.id, errcode: 0, message: 'success' }]);
    await cp.close();
    cp = await startServer({ listen: '127.0.0.1:0', dataDir, logLevel: 'warn', sweepIntervalMs: 200, bootagentListen: listen });
    api = new StewardClient({ baseUrl: cp.url, token: readFileSync(cp.adminTokenPath, 'utf8').trim() });
    // The new process has none of the old one's memory: the result finds the command the link delivers again.
    expect((await dev.cycle()).filter((j) => j.action !== 'config')).toEqual([]);
    await waitFor('running after the restart', async () => (await nodeState('durable', nodeId))?.state === 'running');
    expect((await api.getCommand(job.id)).state).toBe('succeeded');
  });
});
