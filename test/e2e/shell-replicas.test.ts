import { describe, expect, it } from 'vitest';
import type { StewardClient } from '@steward/client';
import { useTwoReplicasWithAgent } from '../support/replicas.js';
import { waitFor } from '../support/wait.js';

/** The session's stored terminal output and its size changes, as any replica serves them. */
async function outputOf(client: StewardClient, id: string): Promise<{ pty: string; resizes: string[] }> {
  let pty = '';
  const resizes: string[] = [];
  for await (const ev of client.commandOutput(id, { follow: false })) {
    if (ev.event !== 'output') continue;
    if (ev.chunk.stream === 'pty') pty += ev.chunk.data;
    else if (ev.chunk.stream === 'resize') resizes.push(ev.chunk.data);
  }
  return { pty, resizes };
}

describe('a shell session opened on one replica, its node connected to the other', { timeout: 120_000 }, () => {
  const replicas = useTwoReplicasWithAgent('on-a', 90_000);

  it('takes input and resizes through the relay', async () => {
    const session = await replicas.b.client.openShell('on-a', { command: ['sh', '-c', 'read x; echo "got:$x"; stty size'], cols: 80, rows: 24 });
    await waitFor('the session running', async () => (await replicas.b.client.getCommand(session.id)).state === 'running', { timeoutMs: 30_000 });
    await replicas.b.client.shellResize(session.id, 100, 30);
    // The agent wrote the new size to the output: the resize arrived before the input is sent.
    await waitFor('the resize on the node', async () => (await outputOf(replicas.b.client, session.id)).resizes.includes('100x30'), { timeoutMs: 30_000 });
    await replicas.b.client.shellInput(session.id, 0, 'relayed\r');
    const done = await replicas.b.client.getCommand(session.id, { wait: 30 });
    expect(done).toMatchObject({ state: 'succeeded', result: { exitCode: 0 } });
    const out = await outputOf(replicas.b.client, session.id);
    expect(out.resizes).toEqual(['80x24', '100x30']);
    expect(out.pty).toContain('got:relayed');
    expect(out.pty).toMatch(/30 100\r\n/);
  });
});
