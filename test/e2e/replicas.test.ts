import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTwoReplicasWithAgent } from '../support/replicas.js';
import { waitFor } from '../support/wait.js';

describe('two control-plane replicas on one PostgreSQL', { timeout: 40_000 }, () => {
  const replicas = useTwoReplicasWithAgent('on-a', 60_000);

  it('shares one admin token and one inventory', async () => {
    expect(existsSync(join(replicas.b.dataDir, 'admin.token'))).toBe(false);
    expect((await replicas.b.client.getNode('on-a')).status).toBe('online');
  });

  it('a command submitted on one replica reaches an agent connected to the other', async () => {
    const events = await replicas.b.client.openEvents({ kinds: ['command.state'] });
    const seen: string[] = [];
    void (async () => {
      for await (const e of events) if (e.event.kind === 'command.state') seen.push(e.event.state);
    })().catch(() => {});
    const { command } = await replicas.b.client.submitCommand({ node: 'on-a', type: 'exec.run', payload: { command: 'echo', args: ['via b'] } });
    const done = await replicas.b.client.getCommand(command.id, { wait: 10 });
    expect(done.state).toBe('succeeded');
    expect(done.result).toMatchObject({ stdout: 'via b\n' });
    // State changes made on replica a reach b's event stream.
    await waitFor('relayed events', () => seen.includes('succeeded'), { timeoutMs: 5000 });
    events.close();
  });

  it('a cancel on one replica stops the command on the agent held by the other', async () => {
    const { command } = await replicas.b.client.submitCommand({ node: 'on-a', type: 'exec.run', payload: { command: 'sleep', args: ['30'] } });
    await waitFor('running', async () => (await replicas.b.client.getCommand(command.id)).state === 'running');
    await replicas.b.client.cancelCommand(command.id);
    await waitFor('no sleep 30 left', async () => {
      const ps = await replicas.a.client.submitCommand({ node: 'on-a', type: 'exec.run', payload: { command: 'sh', args: ['-c', 'pgrep -f "^sleep 30$" || true'] } });
      const r = await replicas.a.client.getCommand(ps.command.id, { wait: 5 });
      return (r.result as { stdout: string }).stdout.trim() === '';
    }, { timeoutMs: 10_000, intervalMs: 200 });
  });
});
