import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Command, NodeConfigView, PushedConfig } from '@steward/protocol';
import { freePort, startAgentProcess, startServerProcess, STEWARD_BIN, type AgentProc, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/**
 * Issue 15 item 2 with a real control plane and a real agent process: configuration pushed
 * through PUT /api/v1/agent-config is applied live (same pid), a bad one is refused with the
 * field named and the old one kept, and a restart with the control plane down comes back with it.
 */
describe('pushed agent configuration is applied live', { timeout: 120_000 }, () => {
  const NODE = 'cfg-live';
  let server: ServerProc;
  let agent: AgentProc;
  let pid: number;
  const env = { STEWARD_OFFLINE_AFTER_MS: '9000' }; // lets a pushed interval of up to 3 s through

  beforeAll(async () => {
    server = await startServerProcess({ port: await freePort(), env });
    const { token } = await server.client.createEnrollmentToken({ uses: 1 });
    agent = startAgentProcess({ server: server.url, token, name: NODE });
    await waitFor(`node ${NODE} online with its config applied`, async () => {
      if (agent.child.exitCode !== null) throw new Error(`agent exited: ${agent.output()}`);
      const n = await server.client.getNode(NODE);
      return n.connected && (await server.client.nodeConfig(NODE)).inSync;
    }, { timeoutMs: 60_000 });
    pid = agent.child.pid!;
  });

  afterAll(async () => {
    await agent?.kill('SIGKILL');
    await server?.kill('SIGKILL');
  });

  async function push(name: string, config: PushedConfig): Promise<void> {
    await server.client.putAgentConfig(name, { target: { all: true }, priority: 0, config });
  }

  /** The node's view once its agent answered the current revision (`applied` or `rejected`). */
  async function answered(state: 'applied' | 'rejected'): Promise<NodeConfigView> {
    return waitFor(`the agent to answer the current config revision (${state})`, async () => {
      const v = await server.client.nodeConfig(NODE);
      return v.applied?.revision === v.revision && v.applied.state === state && v;
    }, { timeoutMs: 30_000 });
  }

  async function run(type: string, payload: Record<string, unknown>): Promise<Command> {
    const { command } = await server.client.submitCommand({ node: NODE, type, payload });
    return server.client.getCommand(command.id, { wait: 20 });
  }

  const shell = () => run('exec.run', { command: 'echo shell-ran', shell: true });

  /** Gaps between the next `n + 1` heartbeats the control plane stores (lastSeenAt changes). */
  async function heartbeatGaps(n: number): Promise<number[]> {
    const seen: number[] = [];
    await waitFor(`${n + 1} heartbeats of ${NODE}`, async () => {
      const at = (await server.client.getNode(NODE)).lastSeenAt;
      if (at !== null && at !== seen.at(-1)) seen.push(at);
      return seen.length > n + 1;
    }, { timeoutMs: 30_000, intervalMs: 20 });
    // The first value was already there when we started looking: gaps from the second on.
    return seen.slice(2).map((t, i) => t - seen[i + 1]!);
  }

  it('a pushed heartbeat interval changes the cadence at once, and removing it gives the node setting back', async () => {
    // The control plane's own setting in tests is 500 ms (±10 % jitter).
    expect(Math.min(...(await heartbeatGaps(3)))).toBeLessThan(1000);
    await push('cadence', { heartbeatIntervalMs: 2500 });
    await answered('applied');
    const slow = await heartbeatGaps(3);
    expect(Math.min(...slow)).toBeGreaterThanOrEqual(2000);
    await server.client.deleteAgentConfig('cadence');
    await answered('applied');
    expect(Math.min(...(await heartbeatGaps(3)))).toBeLessThan(1000);
    expect(agent.child.pid).toBe(pid);
    expect(agent.child.exitCode).toBeNull();
  });

  it('turns a module off (its running command finishes, new ones are refused) and on again without a restart', async () => {
    const slow = await server.client.submitCommand({ node: NODE, type: 'exec.run', payload: { command: 'sleep 2; echo finished', shell: true } });
    await waitFor('the slow command to run', async () => (await server.client.getCommand(slow.command.id)).state === 'running');
    await push('modules', { modules: ['-exec'] });
    await waitFor('the agent to start turning exec off', () => agent.output().includes('turning module exec off'));
    // The control plane still lists exec.run (the catalog changes once exec is off): the agent refuses it.
    const refused = await run('exec.run', { command: 'true' });
    expect(refused.state).toBe('failed');
    expect(refused.error?.code).toBe('module_disabled');
    const finished = await server.client.getCommand(slow.command.id, { wait: 20 });
    expect(finished.state).toBe('succeeded');
    expect(JSON.stringify(finished.result)).toContain('finished');
    await answered('applied');
    // catalog.update: the node no longer offers exec's types, so the control plane refuses them at submission.
    await waitFor('the node catalog without exec', async () => !(await server.client.getNode(NODE)).modules.includes('exec'));
    expect((await server.client.getNode(NODE)).commandTypes.map((t) => t.type)).not.toContain('exec.run');
    await expect(server.client.submitCommand({ node: NODE, type: 'exec.run', payload: { command: 'true' } })).rejects.toMatchObject({
      status: 400,
      code: 'unknown_command_type',
    });
    expect((await run('sys.ping', {})).state).toBe('succeeded');

    await server.client.deleteAgentConfig('modules');
    await answered('applied');
    await waitFor('the node catalog with exec again', async () => (await server.client.getNode(NODE)).modules.includes('exec'));
    const again = await run('exec.run', { command: 'echo', args: ['back'] });
    expect(again.state).toBe('succeeded');
    expect(agent.child.pid).toBe(pid);
    expect(agent.child.exitCode).toBeNull();
  });

  it('refuses a bad config with the field named and keeps the old one; a good one changes module settings live', async () => {
    await push('base', { exec: { allowShell: false } });
    await answered('applied');
    expect((await shell()).error?.code).toBe('shell_not_allowed');

    await push('base', {
      exec: { allowShell: true },
      moduleSettings: { monitor: { checks: [{ kind: 'tcp', id: 'bad', host: '127.0.0.1', port: 1, intervalMs: 5 }] } },
    });
    const rejected = await answered('rejected');
    expect(rejected.applied?.issues).toEqual([expect.objectContaining({ field: 'moduleSettings.monitor.checks[0].intervalMs' })]);
    expect(rejected.applied?.reason).toContain('moduleSettings.monitor.checks[0].intervalMs');
    expect(rejected.inSync).toBe(false);
    // The old config stays in force: shell mode still off.
    expect((await shell()).error?.code).toBe('shell_not_allowed');
    await push('base', { exec: { allowShell: true }, modules: ['+nosuch'] });
    expect((await answered('rejected')).applied?.issues).toEqual([expect.objectContaining({ field: 'modules[0]' })]);
    expect((await shell()).error?.code).toBe('shell_not_allowed');

    await push('base', {
      exec: { allowShell: false },
      capabilities: ['pushed-cap'],
      moduleSettings: { monitor: { checks: [{ kind: 'tcp', id: 'pushed-check', host: '127.0.0.1', port: 1, intervalMs: 60_000 }] } },
    });
    await answered('applied');
    // Capabilities reach the node's inventory with catalog.update, without a reconnect.
    await waitFor('the pushed capability on the node', async () => (await server.client.getNode(NODE)).capabilities.includes('pushed-cap'));
    const checks = await run('monitor.checks.list', {});
    expect(checks.state).toBe('succeeded');
    expect(JSON.stringify(checks.result)).toContain('pushed-check');
    expect(agent.child.pid).toBe(pid);
  });

  it('a restarted agent comes back with the pushed config while the control plane is down', async () => {
    const { revision } = await answered('applied');
    const stored = JSON.parse(readFileSync(join(agent.dataDir, 'pushed-config.json'), 'utf8')) as { revision: string; config: PushedConfig };
    expect(stored).toMatchObject({ revision, config: { exec: { allowShell: false } } });
    // --check-config shows what the agent starts with: the local file and the stored pushed config.
    const check = spawnSync(process.execPath, [STEWARD_BIN, 'agent', '--check-config', '--json', '--data-dir', agent.dataDir, '--config', join(agent.dataDir, 'agent.yaml')], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ exec: { allowShell: false }, reconnect: { initialDelayMs: 100 } });

    await agent.kill('SIGTERM');
    await server.kill('SIGTERM');
    agent = startAgentProcess({ server: server.url, dataDir: agent.dataDir, name: NODE });
    await waitFor('the agent to start with the stored config', () => {
      if (agent.child.exitCode !== null) throw new Error(`agent exited: ${agent.output()}`);
      return agent.output().includes('agent started');
    }, { timeoutMs: 60_000 });
    const started = agent.output().split('\n').filter((l) => l.includes('starting with the stored pushed configuration') || l.includes('agent started'));
    expect(started).toEqual([expect.stringContaining(revision), expect.stringContaining(`"configRevision":"${revision}"`)]);

    server = await startServerProcess({ dataDir: server.dataDir, port: server.port, env });
    await waitFor('the node back online', async () => (await server.client.getNode(NODE)).connected, { timeoutMs: 60_000 });
    expect((await answered('applied')).applied?.revision).toBe(revision);
    expect((await shell()).error?.code).toBe('shell_not_allowed');
    expect(existsSync(join(agent.dataDir, 'pushed-config.json'))).toBe(true);
  });
});
