import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StewardClient } from '@steward/client';
import { startAgentProcess, startServerProcess, waitOnline, type AgentProc, type ServerProc } from '../support/processes.js';
import { freshPgDatabase } from '../support/pg.js';
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
  let db: Awaited<ReturnType<typeof freshPgDatabase>>;
  let a: ServerProc;
  let b: ServerProc;
  let agent: AgentProc;

  beforeAll(async () => {
    db = await freshPgDatabase();
    a = await startServerProcess({ db: db.url });
    b = await startServerProcess({ db: db.url, token: a.token, signingKeyFrom: a.dataDir });
    const { token } = await a.client.createEnrollmentToken({});
    agent = startAgentProcess({ server: a.url, token, name: 'on-a' });
    await waitOnline(a, 'on-a', agent);
  }, 90_000);

  afterAll(async () => {
    await agent?.kill();
    await Promise.all([a?.kill(), b?.kill()]);
    await db?.drop();
  });

  it('takes input and resizes through the relay', async () => {
    const session = await b.client.openShell('on-a', { command: ['sh', '-c', 'read x; echo "got:$x"; stty size'], cols: 80, rows: 24 });
    await waitFor('the session running', async () => (await b.client.getCommand(session.id)).state === 'running', { timeoutMs: 30_000 });
    await b.client.shellResize(session.id, 100, 30);
    // The agent wrote the new size to the output: the resize arrived before the input is sent.
    await waitFor('the resize on the node', async () => (await outputOf(b.client, session.id)).resizes.includes('100x30'), { timeoutMs: 30_000 });
    await b.client.shellInput(session.id, 0, 'relayed\r');
    const done = await b.client.getCommand(session.id, { wait: 30 });
    expect(done).toMatchObject({ state: 'succeeded', result: { exitCode: 0 } });
    const out = await outputOf(b.client, session.id);
    expect(out.resizes).toEqual(['80x24', '100x30']);
    expect(out.pty).toContain('got:relayed');
    expect(out.pty).toMatch(/30 100\r\n/);
  });
});
