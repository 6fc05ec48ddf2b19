import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, heartbeatsAfter, startAgentProcess, startServerProcess, tempDir, waitOnline } from '../support/processes.js';
import { processGone, waitFor } from '../support/wait.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const lines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);

describe('crashes and network loss lose nothing', { timeout: 60_000 }, () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
  });

  /** A control plane (on a fixed port when asked, so it can restart on it) and one enrolled agent, optionally through a proxy. */
  async function setup(name: string, opts: { proxied?: boolean; fixedPort?: boolean } = {}) {
    const server = await startServerProcess(opts.fixedPort ? { port: await freePort() } : {});
    cleanup.push(() => server.kill('SIGKILL'));
    const { token } = await server.client.createEnrollmentToken({ uses: 1 });
    let url = server.url;
    let proxy: TcpProxy | undefined;
    if (opts.proxied) {
      proxy = new TcpProxy(server.port);
      await proxy.start();
      cleanup.push(() => proxy!.stop());
      url = `http://127.0.0.1:${proxy.port}`;
    }
    const agent = startAgentProcess({ server: url, token, name });
    cleanup.push(() => agent.kill('SIGKILL'));
    await waitOnline(server, name, agent);
    return { server, agent, proxy: proxy! };
  }

  it('kill -9 of the agent mid-command: the line is appended once and a result arrives', async () => {
    const { server, agent } = await setup('crashy');
    const file = join(tempDir(), 'out.txt');
    const { command } = await server.client.submitCommand({
      node: 'crashy',
      type: 'exec.run',
      payload: { command: 'sh', args: ['-c', `echo $$ > ${file}.pid; echo line >> ${file}; sleep 2`] },
    });
    await waitFor('the line to be written', () => lines(file).length === 1);
    const orphan = Number(readFileSync(`${file}.pid`, 'utf8'));
    await waitFor('running', async () => (await server.client.getCommand(command.id)).state === 'running');
    await agent.kill('SIGKILL');
    const again = startAgentProcess({ server: server.url, dataDir: agent.dataDir, name: 'crashy' });
    cleanup.push(() => again.kill('SIGKILL'));
    const done = await server.client.getCommand(command.id, { wait: 20 });
    // exec.run is not safe to re-run: it ends failed with the reason, and ran once.
    expect(done.state).toBe('failed');
    expect(done.error?.code).toBe('interrupted');
    // The first run is over (its orphaned shell ended), and the restarted agent has caught up
    // with everything the control plane sent it since the result: nothing ran it again.
    await waitFor('the orphaned shell to end', () => processGone(orphan));
    await heartbeatsAfter(server, 'crashy', done.finishedAt!);
    expect(lines(file)).toEqual(['line']);
  });

  it('a repeated delivery of a finished command replays its result instead of running again', async () => {
    const { server, agent } = await setup('replay');
    const file = join(tempDir(), 'out.txt');
    const { command } = await server.client.submitCommand({
      node: 'replay',
      type: 'exec.run',
      payload: { command: 'sh', args: ['-c', `echo once >> ${file}`] },
    });
    expect((await server.client.getCommand(command.id, { wait: 10 })).state).toBe('succeeded');
    // Restart the agent: the control plane re-sends nothing finished, and the journal keeps the id.
    await agent.kill('SIGKILL');
    const again = startAgentProcess({ server: server.url, dataDir: agent.dataDir, name: 'replay' });
    cleanup.push(() => again.kill('SIGKILL'));
    await waitOnline(server, 'replay', again);
    await heartbeatsAfter(server, 'replay');
    const after = await server.client.getCommand(command.id);
    expect(after.state).toBe('succeeded');
    expect(lines(file)).toEqual(['once']);
  });

  it('kill -9 of the control plane right after it accepted a command: delivered after restart', async () => {
    const { server, agent } = await setup('cp-crash', { fixedPort: true });
    // Take the agent away first so the command is only accepted, not yet delivered.
    await agent.kill('SIGKILL');
    const file = join(tempDir(), 'out.txt');
    const { command } = await server.client.submitCommand({
      node: 'cp-crash',
      type: 'exec.run',
      payload: { command: 'sh', args: ['-c', `echo delivered >> ${file}`] },
    });
    await server.kill('SIGKILL');
    const restarted = await startServerProcess({ dataDir: server.dataDir, port: server.port });
    cleanup.push(() => restarted.kill('SIGKILL'));
    const again = startAgentProcess({ server: restarted.url, dataDir: agent.dataDir, name: 'cp-crash' });
    cleanup.push(() => again.kill('SIGKILL'));
    const done = await restarted.client.getCommand(command.id, { wait: 20 });
    expect(done.state).toBe('succeeded');
    expect(lines(file)).toEqual(['delivered']);
  });

  it('a result finished while the control plane was down waits in the outbox and is stored after restart', async () => {
    const { server } = await setup('outbox', { fixedPort: true });
    const file = join(tempDir(), 'out.txt');
    const { command } = await server.client.submitCommand({
      node: 'outbox',
      type: 'exec.run',
      payload: { command: 'sh', args: ['-c', `sleep 1; echo finished >> ${file}`] },
    });
    await waitFor('running', async () => (await server.client.getCommand(command.id)).state === 'running');
    await server.kill('SIGKILL');
    await waitFor('the command to finish on the agent', () => lines(file).length === 1);
    const restarted = await startServerProcess({ dataDir: server.dataDir, port: server.port });
    cleanup.push(() => restarted.kill('SIGKILL'));
    const done = await restarted.client.getCommand(command.id, { wait: 20 });
    expect(done.state).toBe('succeeded');
    expect(done.result).toMatchObject({ exitCode: 0 });
    expect(lines(file)).toEqual(['finished']);
    // After a restart nobody is marked offline before one full threshold.
    expect((await restarted.client.getNode('outbox')).status).toBe('online');
  });

  it('a node cut off from the network goes offline, comes back online and finishes its commands', async () => {
    const { server, agent, proxy } = await setup('flaky', { proxied: true });

    const events = await server.client.openEvents({ kinds: ['node.status'] });
    cleanup.push(async () => events.close());
    const statuses: string[] = [];
    void (async () => {
      for await (const e of events) if (e.event.kind === 'node.status') statuses.push(e.event.status);
    })().catch(() => {});

    await proxy.cut();
    await waitFor('offline', async () => (await server.client.getNode('flaky')).status === 'offline', { timeoutMs: 15_000 });
    const file = join(tempDir(), 'out.txt');
    const { command } = await server.client.submitCommand({
      node: 'flaky',
      type: 'exec.run',
      payload: { command: 'sh', args: ['-c', `echo back >> ${file}`] },
    });
    // The agent has since tried to reconnect and been turned away: the command waits for it.
    const refused = proxy.refused;
    await waitFor('a reconnect attempt after the submit', () => proxy.refused > refused);
    expect((await server.client.getCommand(command.id)).state).toBe('pending');
    await proxy.restore();
    await waitOnline(server, 'flaky', agent);
    expect((await server.client.getCommand(command.id, { wait: 10 })).state).toBe('succeeded');
    expect(lines(file)).toEqual(['back']);
    await waitFor('status events', () => statuses.includes('offline') && statuses.includes('online'));
  });

  it('a silent partition (no FIN, no RST) is noticed on both sides and healed', async () => {
    const { server, agent, proxy } = await setup('silent', { proxied: true });
    proxy.freeze();
    // The control plane notices by the missing heartbeats, the agent by its unanswered pings.
    await waitFor('offline', async () => (await server.client.getNode('silent')).status === 'offline', { timeoutMs: 15_000 });
    await waitFor('the agent to give up on the dead socket', () => agent.output().includes('stopped answering pings'), { timeoutMs: 10_000 });
    const { command } = await server.client.submitCommand({ node: 'silent', type: 'sys.ping' });
    await proxy.restore();
    await waitOnline(server, 'silent', agent);
    expect((await server.client.getCommand(command.id, { wait: 10 })).state).toBe('succeeded');
  });

  it('a pending command for a node that stays offline expires after its TTL', async () => {
    const { server, agent } = await setup('gone');
    await agent.kill('SIGKILL');
    const { command } = await server.client.submitCommand({ node: 'gone', type: 'sys.ping', ttlMs: 500 });
    const done = await server.client.getCommand(command.id, { wait: 10 });
    expect(done.state).toBe('expired');
    expect(done.error?.code).toBe('expired');
  });
});
