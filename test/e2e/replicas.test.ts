import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgentProcess, startServerProcess, waitOnline, type AgentProc, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { freshPgDatabase } from '../support/pg.js';

describe('two control-plane replicas on one PostgreSQL', { timeout: 40_000 }, () => {
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
  }, 60_000);

  afterAll(async () => {
    await agent?.kill();
    await Promise.all([a?.kill(), b?.kill()]);
    await db?.drop();
  });

  it('shares one admin token and one inventory', async () => {
    expect(existsSync(join(b.dataDir, 'admin.token'))).toBe(false);
    expect((await b.client.getNode('on-a')).status).toBe('online');
  });

  it('a command submitted on one replica reaches an agent connected to the other', async () => {
    const events = await b.client.openEvents({ kinds: ['command.state'] });
    const seen: string[] = [];
    void (async () => {
      for await (const e of events) if (e.event.kind === 'command.state') seen.push(e.event.state);
    })().catch(() => {});
    const { command } = await b.client.submitCommand({ node: 'on-a', type: 'exec.run', payload: { command: 'echo', args: ['via b'] } });
    const done = await b.client.getCommand(command.id, { wait: 10 });
    expect(done.state).toBe('succeeded');
    expect(done.result).toMatchObject({ stdout: 'via b\n' });
    // State changes made on replica a reach b's event stream.
    await waitFor('relayed events', () => seen.includes('succeeded'), { timeoutMs: 5000 });
    events.close();
  });

  it('a cancel on one replica stops the command on the agent held by the other', async () => {
    const { command } = await b.client.submitCommand({ node: 'on-a', type: 'exec.run', payload: { command: 'sleep', args: ['30'] } });
    await waitFor('running', async () => (await b.client.getCommand(command.id)).state === 'running');
    await b.client.cancelCommand(command.id);
    await waitFor('no sleep 30 left', async () => {
      const ps = await a.client.submitCommand({ node: 'on-a', type: 'exec.run', payload: { command: 'sh', args: ['-c', 'pgrep -f "^sleep 30$" || true'] } });
      const r = await a.client.getCommand(ps.command.id, { wait: 5 });
      return (r.result as { stdout: string }).stdout.trim() === '';
    }, { timeoutMs: 10_000, intervalMs: 200 });
  });
});
