import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, StewardClient } from '@steward/client';
import { SseParser } from '@steward/client/browser';
import type { SessionRecording } from '@steward/protocol';
import { addAgent, startServerProcess, STEWARD_BIN, type AgentProc, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);

/** Recordings with a real control plane and a real agent running a real PTY. */
describe('session recordings', { timeout: 120_000 }, () => {
  let server: ServerProc;
  let agent: AgentProc;
  let reader: StewardClient;
  let recorded: SessionRecording;

  beforeAll(async () => {
    server = await startServerProcess();
    agent = await addAgent(server, 'rec-node');
    const created = await server.client.createToken({ name: 'dash-reader', role: 'reader' });
    reader = new StewardClient({ baseUrl: server.url, token: created.token });
  }, 90_000);

  afterAll(async () => {
    await agent?.kill();
    await server?.kill();
  });

  /** The command's stored output chunks, as the output stream serves them (without following). */
  async function storedOutput(id: string): Promise<{ seq: number; stream: string; data: string }[]> {
    const res = await fetch(`${server.url}/api/v1/commands/${id}/output?follow=false`, { headers: { authorization: `Bearer ${server.token}` } });
    expect(res.status).toBe(200);
    const parser = new SseParser();
    return parser
      .push(await res.text())
      .filter((m) => m.event === 'output')
      .map((m) => JSON.parse(m.data) as { seq: number; stream: string; data: string });
  }

  it('records a session when it ends: "o" events replay exactly the stored pty output, a resize is an "r" event, who and the exit code are kept', async () => {
    const c = server.client;
    const opened = await c.openShell('rec-node', { cols: 80, rows: 24, command: ['/bin/sh'] });
    await waitFor('the session to run', async () => (await c.getCommand(opened.id)).state === 'running');
    let seq = 0;
    await c.shellInput(opened.id, seq++, 'echo hi-$((6*7))\n');
    await waitFor('hi-42 in the output', async () => (await storedOutput(opened.id)).some((o) => o.stream === 'pty' && o.data.includes('hi-42')));
    await c.shellResize(opened.id, 100, 30);
    await c.shellInput(opened.id, seq++, 'stty size\n');
    await waitFor('the new size in the output', async () => (await storedOutput(opened.id)).map((o) => o.data).join('').includes('30 100'));
    await c.shellInput(opened.id, seq++, 'exit 3\n');
    recorded = await waitFor('the recording', async () => (await c.listSessions({ node: 'rec-node' })).items.find((s) => s.id === opened.id), { timeoutMs: 30_000 });
    const command = await c.getCommand(opened.id);
    expect(recorded).toMatchObject({ nodeId: command.nodeId, exitCode: 3, state: command.state, openedBy: { name: expect.any(String) } });
    expect(recorded.endedAt).toBeGreaterThanOrEqual(recorded.startedAt);
    expect(await c.getSession(opened.id)).toEqual(recorded);

    const cast = await c.sessionRecording(opened.id);
    expect(Buffer.byteLength(cast)).toBe(recorded.bytes);
    const [header, ...events] = cast.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(header).toMatchObject({ version: 2, width: 80, height: 24, command: '/bin/sh', env: { TERM: 'xterm-256color' } });
    const stored = await storedOutput(opened.id);
    const out = events.filter((e): e is [number, 'o', string] => (e as unknown[])[1] === 'o');
    expect(out.map((e) => e[2]).join('')).toBe(
      stored
        .filter((o) => o.stream === 'pty')
        .map((o) => o.data)
        .join(''),
    );
    expect(events.filter((e) => (e as unknown[])[1] === 'r').map((e) => (e as unknown[])[2])).toEqual(['100x30']);
    const times = events.map((e) => (e as [number])[0]);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // Keystrokes are never recorded: only output and resizes.
    expect(new Set(events.map((e) => (e as unknown[])[1]))).toEqual(new Set(['o', 'r']));
  });

  it('steward sessions ls / show / cat give the listing, the metadata and the exact .cast bytes', async () => {
    const env = { ...process.env, STEWARD_SERVER: server.url, STEWARD_TOKEN: server.token, NO_COLOR: '1' };
    const cli = (...args: string[]) => run(process.execPath, [STEWARD_BIN, 'sessions', ...args], { env });
    const ls = await cli('ls', '--node', 'rec-node');
    expect(ls.stdout).toMatch(/ID\s+NODE\s+OPENED BY\s+STARTED\s+DURATION\s+EXIT\s+SIZE/);
    expect(ls.stdout).toContain(recorded.id);
    expect(ls.stdout).toMatch(new RegExp(`${recorded.id}\\s+rec-node\\s+\\S+.*\\s3\\s`));
    expect(JSON.parse((await cli('show', recorded.id, '--json')).stdout)).toEqual(recorded);
    expect((await cli('show', recorded.id)).stdout).toMatch(/exit code\s+3/);
    expect((await cli('cat', recorded.id)).stdout).toBe(await server.client.sessionRecording(recorded.id));
    const missing = (await cli('cat', 'cmd_nope').then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    ));
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('session recording "cmd_nope" does not exist');
  });

  it('the API description lists the session routes', async () => {
    const doc = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, unknown> }> }>> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/sessions', '/api/v1/sessions/{id}', '/api/v1/sessions/{id}/recording']));
    expect(Object.keys(doc.paths['/api/v1/sessions/{id}/recording']!.get!.responses!['200']!.content!)).toEqual(['application/x-asciicast']);
  });

  it('a reader token is refused every session route (403) and deletes nothing', async () => {
    for (const attempt of [() => reader.listSessions(), () => reader.getSession(recorded.id), () => reader.sessionRecording(recorded.id), () => reader.deleteSession(recorded.id)]) {
      await expect(attempt()).rejects.toMatchObject({ status: 403 });
    }
    expect((await server.client.getSession(recorded.id)).id).toBe(recorded.id);
  });

  it('an operator deletes a recording: its file goes, the deletion is in the audit log (and so is a reader\'s refused attempt)', async () => {
    const c = server.client;
    const quick = await c.openShell('rec-node', { cols: 40, rows: 10, command: ['/bin/echo', 'bye'] });
    const rec = await waitFor('the quick session\'s recording', async () => (await c.listSessions()).items.find((s) => s.id === quick.id), { timeoutMs: 30_000 });
    expect(await c.sessionRecording(quick.id)).toContain('bye');
    await c.deleteSession(quick.id);
    await expect(c.getSession(quick.id)).rejects.toMatchObject({ status: 404 });
    await expect(c.artifactMeta(rec.sha256)).rejects.toMatchObject({ status: 404 });
    const audit = await waitFor('the audit entries', async () => {
      const items = (await c.listAudit({ action: 'sessions.delete' })).items;
      return items.length >= 2 && items;
    });
    expect(audit.find((e) => e.target === quick.id)).toMatchObject({ status: 204 });
    expect(audit.find((e) => e.target === recorded.id)).toMatchObject({ status: 403, actorName: 'dash-reader' });
  });

  it('the retention sweeper deletes an expired recording and its artifact', async () => {
    expect((await server.client.artifactMeta(recorded.sha256)).sha256).toBe(recorded.sha256);
    // The same control plane again, now keeping recordings 2 s: the one recorded above has expired.
    const { dataDir, port } = server;
    await server.kill();
    server = await startServerProcess({ dataDir, port, env: { STEWARD_SESSION_RETENTION: '2s' } });
    const gone = await waitFor(
      'the recording to expire',
      async () => {
        try {
          await server.client.getSession(recorded.id);
          return false;
        } catch (e) {
          return e instanceof ApiError && e.status === 404 && e;
        }
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(gone.code).toBe('not_found');
    await expect(server.client.artifactMeta(recorded.sha256)).rejects.toMatchObject({ status: 404 });
    expect((await server.client.listSessions()).items.map((s) => s.id)).not.toContain(recorded.id);
  });
});
