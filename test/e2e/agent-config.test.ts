import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configRevision } from '@steward/protocol/node';
import { addAgent, startServerProcess, STEWARD_BIN, tempDir, type AgentProc, type ServerProc } from '../support/processes.js';
import { useTwoReplicasWithAgent } from '../support/replicas.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);

/**
 * Desired agent config through the real binary and real control planes. The agent's side of
 * `config.desired` (apply, answer) is the agent's own; here the control plane's half is asserted:
 * what it pushes, to which node, from which replica, and the node view.
 */
describe('steward config apply | ls | show | diff | rm against a real control plane and agent', { timeout: 120_000 }, () => {
  let server: ServerProc;
  let agent: AgentProc;
  const dir = tempDir('steward-config-cli-');
  const cli = (...args: string[]) => run(process.execPath, [STEWARD_BIN, '--server', server.url, '--token', server.token, 'config', ...args]);

  beforeAll(async () => {
    server = await startServerProcess();
    agent = await addAgent(server, 'cfg-web', ['role=web']);
  }, 90_000);

  afterAll(async () => {
    await agent?.kill();
    await server?.kill();
  });

  it('apply from a file and from flags, list, show a document and a node, diff a file against the node, remove', async () => {
    writeFileSync(join(dir, 'base.yaml'), 'logLevel: info\nfs:\n  maxReadBytes: 4096\n');
    expect((await cli('apply', 'base', '--file', join(dir, 'base.yaml'))).stdout).toContain('base: version 1, target all, priority 0');
    writeFileSync(join(dir, 'web.yaml'), 'target: {selector: role=web}\npriority: 10\nconfig:\n  logLevel: debug\n');
    expect((await cli('apply', 'web', '--file', join(dir, 'web.yaml'))).stdout).toContain('web: version 1, target role=web, priority 10');
    // Flags only: the stored config stays, the priority changes.
    expect((await cli('apply', 'web', '--priority', '-5')).stdout).toContain('web: version 2, target role=web, priority -5');

    const ls = (await cli('ls')).stdout.split('\n');
    expect(ls[0]).toMatch(/^NAME\s+PRIORITY\s+TARGET/);
    expect(ls.slice(1, 3).map((l) => l.split(/\s+/)[0])).toEqual(['web', 'base']);
    expect((await cli('show', 'web')).stdout).toContain('logLevel: debug');

    // The control plane pushed it to the connected agent, which applied it and said so.
    const expected = { logLevel: 'info' as const, fs: { maxReadBytes: 4096 } };
    const view = await waitFor('the agent applied the merged config', async () => {
      const v = await server.client.nodeConfig('cfg-web');
      return v.applied?.revision === configRevision(expected) && v.applied.state === 'applied' && v;
    });
    expect(view).toMatchObject({ config: expected, documents: ['web', 'base'], sources: { logLevel: 'base', 'fs.maxReadBytes': 'base' }, inSync: true });
    const shown = (await cli('show', '--node', 'cfg-web')).stdout;
    expect(shown).toContain(`revision:  ${view.revision}`);
    expect(shown).toMatch(/logLevel\s+base/);

    writeFileSync(join(dir, 'web2.yaml'), 'target: {selector: role=web}\npriority: 10\nconfig:\n  logLevel: warn\n  heartbeatIntervalMs: 1000\n');
    const diff = (await cli('diff', 'cfg-web', '--file', join(dir, 'web2.yaml'), '--name', 'web')).stdout;
    expect(diff.trim().split('\n')).toEqual(['+ heartbeatIntervalMs: 1000', '~ logLevel: "info" -> "warn"']);
    // A diff changes nothing.
    expect((await server.client.getAgentConfig('web')).version).toBe(2);

    // A config the agent refuses: the node shows it rejected, with the field, and stays out of sync.
    writeFileSync(join(dir, 'nomod.yaml'), 'modules: [+nosuchmodule]\n');
    await cli('apply', 'nomod', '--file', join(dir, 'nomod.yaml'), '--nodes', 'cfg-web', '--priority', '50');
    const refused = await waitFor('the agent rejected the config', async () => {
      const v = await server.client.nodeConfig('cfg-web');
      return v.applied?.revision === v.revision && v.applied.state === 'rejected' && v;
    });
    expect(refused.inSync).toBe(false);
    expect(refused.applied?.issues).toEqual([expect.objectContaining({ field: 'modules[0]' })]);
    expect((await cli('show', '--node', 'cfg-web')).stdout).toMatch(/agent:\s+rejected/);
    await cli('rm', 'nomod');
    await waitFor('back in sync without it', async () => (await server.client.nodeConfig('cfg-web')).inSync);

    const bad = await cli('apply', 'web', '--file', join(dir, 'web.yaml'), '--selector', 'role=web', '--all').catch((e: { stderr: string; code: number }) => e);
    expect(bad).toMatchObject({ code: expect.any(Number) });
    expect((bad as { stderr: string }).stderr).toContain('one of --all, --selector, --nodes');

    expect((await cli('rm', 'web')).stdout).toContain('deleted web');
    const gone = await cli('rm', 'web').catch((e: { stderr: string }) => e);
    expect((gone as { stderr: string }).stderr).toContain('config document "web" does not exist');
    expect((await cli('ls', '--json')).stdout).toContain('"name": "base"');
  });
});

describe('a document written on one replica is pushed by the replica holding the agent', { timeout: 180_000 }, () => {
  const r = useTwoReplicasWithAgent('cfg-replica', 150_000);

  it('PUT on replica b; replica a (holding the connection) pushes it and stores the agent\'s answer', async () => {
    const node = await r.b.client.getNode('cfg-replica');
    const config = { logLevel: 'debug' as const, capabilities: ['replicated'] };
    await r.b.client.putAgentConfig('everyone', { target: { all: true }, priority: 0, config });
    const revision = configRevision(config);
    // Only a holds the socket, so only a could have sent it (b has no connection to push on).
    const view = await waitFor('the agent applied the revision replica a sent', async () => {
      const v = await r.b.client.nodeConfig(node.id);
      return v.applied?.revision === revision && v.applied.state === 'applied' && v;
    });
    expect(view.revision).toBe(revision);
    expect((await r.a.client.nodeConfig('cfg-replica')).revision).toBe(revision);
  });
});
