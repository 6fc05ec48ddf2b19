import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentUpgradeDetail } from '@steward/protocol';
import { installCommandLine } from '../../packages/cli/src/commands/enroll.js';
import { cleanEnv, runCli } from '../../packages/cli/test/helpers/cli.js';
import { REPO, startServerProcess, tempDir, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);

const A = (JSON.parse(readFileSync(join(REPO, 'packages/agent/package.json'), 'utf8')) as { version: string }).version;
const B = `${A}-b`;
const BROKEN = `${A}-broken`;
const fileOf = (version: string) => `steward-agent-${version}-linux-${process.arch}.tar.gz`;
const sha256 = (buf: Buffer) => createHash('sha256').update(buf).digest('hex');

function listFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p, base));
    else out.push(p.slice(base.length + 1));
  }
  return out.sort();
}

/**
 * A copy of package `from` that claims `version` and whose agent exits 1 at once (a broken
 * release): its manifest and SHA256SUMS are made again, so it passes every check but the start.
 */
async function brokenPackage(from: string, version: string, outdir: string): Promise<string> {
  const dir = tempDir('steward-broken-');
  await run('tar', ['-xzf', from, '-C', dir]);
  writeFileSync(join(dir, 'steward-agent.mjs'), "process.stderr.write('broken on purpose\\n');\nprocess.exit(1);\n");
  const files: Record<string, string> = {};
  for (const f of listFiles(dir)) if (f !== 'manifest.json' && f !== 'SHA256SUMS') files[f] = sha256(readFileSync(join(dir, f)));
  const manifest = { ...(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as object), version, files };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  const sums = { ...files, 'manifest.json': sha256(readFileSync(join(dir, 'manifest.json'))) };
  writeFileSync(join(dir, 'SHA256SUMS'), Object.keys(sums).sort().map((f) => `${sums[f as keyof typeof sums]}  ${f}\n`).join(''));
  const out = join(outdir, fileOf(version));
  await run('sh', ['-c', 'tar -C "$1" -cf - . | gzip -1 > "$2"', 'sh', dir, out]);
  return out;
}

/** The agent's own node process under an install prefix (not its supervisor, not an upgrade watcher). */
function agentPids(prefix: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const args = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (args.some((a) => a.startsWith(`${prefix}/opt/steward/agent/`) && a.endsWith('/steward-agent.mjs'))) out.push(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const currentOf = (prefix: string) => readlinkSync(join(prefix, 'opt/steward/agent/current'));

const steward = (args: string[], timeoutMs = 60_000) => runCli(args, { timeoutMs, env: cleanEnv({ STEWARD_SERVER: server.url, STEWARD_TOKEN: server.token, STEWARD_CA_FILE: join(server.dataDir, 'tls/ca.crt') }) });

/**
 * Fleet upgrades of agents installed for real (install.sh --prefix, supervised in the background)
 * from a real TLS control plane: version A (the control plane's own package), B (built again with
 * STEWARD_PACKAGE_VERSION) and a broken B whose agent exits at start. Packages built once per file.
 */
let server: ServerProc;

describe('fleet-wide agent upgrades (POST /api/v1/agent-upgrades)', { timeout: 900_000 }, () => {
  const prefixes: Record<string, string> = {};
  const names = ['up-1', 'up-2', 'up-3'];
  let completedId = '';

  async function installAgent(name: string, token: string, ca: { sha256: string | null }): Promise<void> {
    const prefix = tempDir('steward-upgrade-');
    prefixes[name] = prefix;
    const cmd = `${installCommandLine(server.url, token, ['fleet=upgrade'], ca).replace('sudo ', '')} --prefix ${prefix} --name ${name}`;
    const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', timeout: 180_000 });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  }

  const online = async (name: string, version: string) => {
    const n = await server.client.getNode(name).catch(() => null);
    return n?.status === 'online' && n.connected && n.agentVersion === version ? n : null;
  };

  const logs = (name: string) => {
    const p = prefixes[name]!;
    const watcher = join(p, 'var/lib/steward/agent/upgrade/watcher.log');
    return `agent log:\n${readFileSync(join(p, 'var/log/steward-agent.log'), 'utf8').slice(-4000)}\nwatcher:\n${existsSync(watcher) ? readFileSync(watcher, 'utf8') : '(none)'}`;
  };

  async function settled(id: string, states: string[], timeoutMs = 180_000): Promise<AgentUpgradeDetail> {
    let last: AgentUpgradeDetail | undefined;
    return waitFor(
      () => `upgrade ${id} to be ${states.join(' or ')}; last: ${JSON.stringify(last, null, 1)}\n${Object.keys(prefixes).map(logs).join('\n')}`,
      async () => {
        last = await server.client.getAgentUpgrade(id);
        return states.includes(last.state) ? last : null;
      },
      { timeoutMs, intervalMs: 250 },
    );
  }

  beforeAll(async () => {
    const packages = tempDir('steward-packages-');
    server = await startServerProcess({ args: ['--tls'], env: { STEWARD_AGENT_PACKAGE_BUILD: 'on', STEWARD_AGENT_PACKAGES: packages } });
    const ca = await server.client.serverCa();
    // Version B, built while the control plane builds A.
    const other = tempDir('steward-packages-b-');
    const built = run(process.execPath, [join(REPO, 'scripts/package.mjs'), other, '--json'], { env: { ...process.env, STEWARD_PACKAGE_VERSION: B }, maxBuffer: 1 << 20 });
    await waitFor('the agent package published', async () => /agent package published/.test(server.output()) || /could not build/.test(server.output()), { timeoutMs: 400_000 });
    expect(server.output()).not.toMatch(/could not build/);
    const b = JSON.parse((await built).stdout.trim().split('\n').pop()!) as { path: string; version: string };
    expect(b.version).toBe(B);
    const broken = await brokenPackage(b.path, BROKEN, other);
    for (const [file, path] of [[fileOf(B), b.path], [fileOf(BROKEN), broken]] as const) await server.client.putArtifactFile(path, { name: file });

    const { token } = await server.client.createEnrollmentToken({ ttlSeconds: 900, uses: names.length });
    for (const name of names) await installAgent(name, token, ca);
    for (const name of names) await waitFor(`${name} online on ${A}`, () => online(name, A), { timeoutMs: 90_000 });
  }, 900_000);

  afterAll(async () => {
    for (const p of Object.values(prefixes)) await run('sh', [join(REPO, 'scripts/install.sh'), '--uninstall', '--prefix', p]).catch(() => {});
    await server?.kill();
  });

  it('upgrades three agents from A to B (a canary first, then two at a time); a command in flight across the restart runs once', async () => {
    // A command running on the canary node when its upgrade restarts the agent: the old agent
    // finishes it before it exits (drain), the journal carries its result over, it never runs again.
    // It waits until `current` switched, so it is surely running when the agent begins to stop.
    const marker = join(tempDir('steward-marker-'), 'ran');
    const current = join(prefixes['up-1']!, 'opt/steward/agent/current');
    const { command: inflight } = await server.client.submitCommand({
      node: 'up-1',
      type: 'exec.run',
      timeoutMs: 300_000,
      payload: { command: `i=0; while [ "$(readlink ${current})" != "${B}" ] && [ $i -lt 2400 ]; do sleep 0.1; i=$((i+1)); done; sleep 1; echo once >> ${marker}`, shell: true },
    });
    await waitFor('the in-flight command running', async () => (await server.client.getCommand(inflight.id)).state === 'running');
    const created = await server.client.createAgentUpgrade({ version: B, target: { selector: 'fleet=upgrade' }, canary: 1, maxUnavailable: 2, graceMs: 60_000 });
    expect(created).toMatchObject({ version: B, state: 'running', canary: 1, maxUnavailable: 2, total: 3 });
    expect(created.batches.map((b) => [b.batch, b.canary, b.total])).toEqual([[0, true, 1], [1, false, 2]]);
    expect(created.nodes.map((n) => n.name).sort()).toEqual(names);

    const done = await settled(created.id, ['completed', 'paused']);
    expect(done.state, JSON.stringify(done.nodes)).toBe('completed');
    expect(done.counts).toEqual({ upgraded: 3 });
    expect(done.nodes.every((n) => n.state === 'upgraded' && n.fromVersion === A && n.commandId)).toBe(true);
    completedId = done.id;
    for (const name of names) {
      await waitFor(`${name} online on ${B}`, () => online(name, B), { timeoutMs: 60_000 });
      expect(currentOf(prefixes[name]!)).toBe(B);
      // The old version stays beside it, for a rollback by hand.
      expect(existsSync(join(prefixes[name]!, 'opt/steward/agent', A, 'bin/node'))).toBe(true);
    }
    // Each node's upgrade command reports the outcome from the new agent.
    const cmd = await server.client.getCommand(done.nodes[0]!.commandId!);
    expect(cmd).toMatchObject({ state: 'succeeded', result: { outcome: 'upgraded', from: A, to: B, version: B } });
    // The in-flight command: succeeded, ran exactly once.
    expect((await server.client.getCommand(inflight.id, { wait: 30 })).state).toBe('succeeded');
    expect(readFileSync(marker, 'utf8')).toBe('once\n');
    // Still served after the restart.
    const { command: ping } = await server.client.submitCommand({ node: 'up-1', type: 'sys.ping', payload: {} });
    expect((await server.client.getCommand(ping.id, { wait: 15 })).state).toBe('succeeded');
  });

  it('a broken B (exits at start) is rolled back within the grace window and pauses the rollout; resume pauses again, abort ends it', async () => {
    // Through the CLI: --watch follows it until it pauses, and exits 1 since it did not complete.
    const cli = await steward(['agents', 'upgrade', '--version', BROKEN, '--nodes', 'up-2,up-3', '--batch-size', '1', '--grace', '10s', '--watch', '--json'], 240_000);
    expect(cli.code, cli.stderr).toBe(1);
    const created = JSON.parse(cli.stdout.slice(cli.stdout.indexOf('{'))) as AgentUpgradeDetail;
    expect(created.state).toBe('paused');
    const paused = await server.client.getAgentUpgrade(created.id);
    expect(paused.state).toBe('paused');
    expect(paused.reason).toMatch(/1 node\(s\) failed or rolled back \(threshold 0\)/);
    const [first, second] = paused.nodes;
    expect(first).toMatchObject({ name: 'up-2', state: 'rolled_back', batch: 0 });
    expect(first!.reason).toMatch(new RegExp(`new agent ${BROKEN.replace(/[.+]/g, '\\$&')} (keeps exiting at start|was not welcomed)`));
    // The second batch never started.
    expect(second).toMatchObject({ name: 'up-3', state: 'pending', commandId: null });
    const cmd = await server.client.getCommand(first!.commandId!);
    expect(cmd).toMatchObject({ state: 'failed', error: { code: 'rolled_back' }, result: { outcome: 'rolled_back', from: B, to: BROKEN, version: B } });
    // Back on B, online, `current` pointing at it.
    await waitFor('up-2 online on B again', () => online('up-2', B), { timeoutMs: 60_000 });
    expect(currentOf(prefixes['up-2']!)).toBe(B);

    // Resumed, the failures are still over the threshold: paused again, nothing more started.
    const resumed = await server.client.resumeAgentUpgrade(created.id);
    expect(['running', 'paused']).toContain(resumed.state);
    const again = await settled(created.id, ['paused']);
    expect(again.nodes[1]!.state).toBe('pending');
    const abort = await steward(['agents', 'upgrades', 'abort', created.id]);
    expect(abort.stdout).toContain(`${created.id}: aborted`);
    const aborted = await server.client.getAgentUpgrade(created.id);
    expect(aborted).toMatchObject({ state: 'aborted', reason: 'aborted by an operator' });
    const ls = await steward(['agents', 'upgrades', 'ls']);
    expect(ls.stdout).toMatch(new RegExp(`${created.id}\\s+${BROKEN.replace(/[.+]/g, '\\$&')}\\s+aborted`));
    expect(aborted.nodes[1]).toMatchObject({ state: 'skipped' });
    await expect(server.client.resumeAgentUpgrade(created.id)).rejects.toMatchObject({ status: 409 });
    // The automatic pause is in the audit log.
    const audit = await server.client.listAudit({ action: 'agent-upgrade.paused', target: created.id });
    expect(audit.items.length).toBeGreaterThan(0);
  });

  it('a kill -9 of the agent mid-upgrade leaves a working agent whose version matches `current`', async () => {
    const created = await server.client.createAgentUpgrade({ version: A, target: { nodes: ['up-3'] }, graceMs: 30_000 });
    const commandId = await waitFor('the upgrade command running', async () => {
      const d = await server.client.getAgentUpgrade(created.id);
      const id = d.nodes[0]!.commandId;
      return id && (await server.client.getCommand(id)).state === 'running' ? id : null;
    }, { timeoutMs: 60_000 });
    const pids = agentPids(prefixes['up-3']!);
    expect(pids.length).toBe(1);
    process.kill(pids[0]!, 'SIGKILL');
    // The supervisor starts whatever `current` names; either way the node works and says so.
    const end = await settled(created.id, ['completed', 'paused'], 180_000);
    const node = await waitFor('up-3 online again', async () => {
      const n = await server.client.getNode('up-3');
      return n.status === 'online' && n.connected && agentPids(prefixes['up-3']!).length === 1 ? n : null;
    }, { timeoutMs: 90_000 });
    expect(currentOf(prefixes['up-3']!)).toBe(node.agentVersion);
    expect([A, B]).toContain(node.agentVersion);
    const cmd = await server.client.getCommand(commandId);
    expect(['succeeded', 'failed']).toContain(cmd.state);
    if (end.state === 'completed') expect(node.agentVersion).toBe(A);
    else expect(end.nodes[0]!.reason).toBeTruthy();
    const { command: ping } = await server.client.submitCommand({ node: 'up-3', type: 'sys.ping', payload: {} });
    expect((await server.client.getCommand(ping.id, { wait: 15 })).state).toBe('succeeded');

    // Again, killed the moment `current` switched (the old agent on its way out, or the new one
    // starting): the supervisor starts the new version, which confirms; the journal resumes the command.
    const from = node.agentVersion;
    const to = from === A ? B : A;
    const second = await server.client.createAgentUpgrade({ version: to, target: { nodes: ['up-3'] }, graceMs: 60_000 });
    await waitFor('current switched', () => currentOf(prefixes['up-3']!) === to, { timeoutMs: 120_000, intervalMs: 5 });
    for (const pid of agentPids(prefixes['up-3']!)) process.kill(pid, 'SIGKILL');
    const after = await settled(second.id, ['completed', 'paused'], 180_000);
    const node2 = await waitFor('up-3 online after the second kill', () => online('up-3', after.state === 'completed' ? to : from), { timeoutMs: 90_000 });
    expect(currentOf(prefixes['up-3']!)).toBe(node2.agentVersion);
    expect(after.state, JSON.stringify(after.nodes)).toBe('completed');
  });

  it('refuses bad requests with the right status, changing nothing', async () => {
    const before = (await server.client.listAgentUpgrades()).items.length;
    const status = (p: Promise<unknown>) => p.then(() => 200, (e: { status?: number }) => e.status);
    expect(await status(server.client.createAgentUpgrade({ version: 'not a version!', target: { all: true } }))).toBe(400);
    expect(await status(server.client.createAgentUpgrade({ version: '9.9.9', target: { all: true } }))).toBe(404);
    expect(await status(server.client.createAgentUpgrade({ version: B, target: { nodes: ['no-such-node'] } }))).toBe(400);
    expect(await status(server.client.createAgentUpgrade({ version: B, target: { selector: 'fleet=none' } }))).toBe(400);
    expect(await status(server.client.createAgentUpgrade({ version: B, target: { all: true }, batchSize: 1, maxUnavailable: 1 }))).toBe(400);
    expect(await status(server.client.getAgentUpgrade('upg_nope'))).toBe(404);
    expect(await status(server.client.pauseAgentUpgrade(completedId || 'upg_nope'))).toBe(completedId ? 409 : 404);
    expect((await server.client.listAgentUpgrades()).items.length).toBe(before);
  });
});
