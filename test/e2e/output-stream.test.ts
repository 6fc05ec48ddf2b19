import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommandOutputEvent, JobOutputEvent } from '@steward/client';
import type { OutputChunk } from '@steward/protocol';
import { addAgent, startAgentProcess, startServerProcess, waitOnline, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/**
 * Streamed command output with real control-plane and agent processes: chunks arrive while the
 * command runs, resume exactly after Last-Event-ID, survive kill -9 of the agent (what its
 * journal held reaches the control plane, in order, once), and stop at the cap.
 */
describe('streamed command output', { timeout: 120_000 }, () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
  });

  async function server(env: NodeJS.ProcessEnv = {}): Promise<ServerProc> {
    const s = await startServerProcess({ env });
    cleanup.push(() => s.kill('SIGKILL'));
    return s;
  }

  async function agent(s: ServerProc, name: string) {
    const a = await addAgent(s, name);
    cleanup.push(() => a.kill('SIGKILL'));
    return a;
  }

  async function collect(events: AsyncIterable<CommandOutputEvent>): Promise<{ events: CommandOutputEvent[]; arrivals: number[] }> {
    const out: CommandOutputEvent[] = [];
    const arrivals: number[] = [];
    for await (const e of events) {
      out.push(e);
      arrivals.push(Date.now());
    }
    return { events: out, arrivals };
  }

  const chunksOf = (events: CommandOutputEvent[]): OutputChunk[] => events.flatMap((e) => (e.event === 'output' ? [e.chunk] : []));
  const textOf = (chunks: OutputChunk[], stream = 'stdout') => chunks.filter((c) => c.stream === stream).map((c) => c.data).join('');

  it('sends each line of a slow command while it runs, in order, then ends with the command; resumes exactly after Last-Event-ID', async () => {
    const s = await server();
    await agent(s, 'slow');
    const { command } = await s.client.submitCommand({
      node: 'slow',
      type: 'exec.run',
      payload: { command: 'for i in 1 2 3; do echo line$i; sleep 0.3; done; echo bye >&2', shell: true },
    });
    const { events, arrivals } = await collect(s.client.commandOutput(command.id));
    const last = events[events.length - 1]!;
    expect(last.event).toBe('end');
    const ended = (last as Extract<CommandOutputEvent, { event: 'end' }>).command;
    expect(ended).toMatchObject({ id: command.id, state: 'succeeded', result: { exitCode: 0, stdout: 'line1\nline2\nline3\n', stderr: 'bye\n' } });
    // The `end` event carries the command exactly as GET /api/v1/commands/:id shows it.
    expect(ended).toEqual(await s.client.getCommand(command.id));
    const chunks = chunksOf(events);
    expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i));
    expect(textOf(chunks)).toBe('line1\nline2\nline3\n');
    expect(textOf(chunks, 'stderr')).toBe('bye\n');
    // Each line reached this reader before the command had ended (same machine, same clock).
    for (const n of [1, 2, 3]) {
      const i = events.findIndex((e) => e.event === 'output' && e.chunk.data.includes(`line${n}`));
      expect(arrivals[i]!, `line${n} arrived before the end`).toBeLessThan(ended.finishedAt!);
    }

    // Resume: after seq k gives exactly the chunks after k, through the client and through the raw header.
    const k = chunks[1]!.seq;
    const resumed = await collect(s.client.commandOutput(command.id, { after: k }));
    expect(chunksOf(resumed.events)).toEqual(chunks.slice(2));
    expect(resumed.events[resumed.events.length - 1]!.event).toBe('end');
    const raw = await fetch(`${s.url}/api/v1/commands/${command.id}/output`, { headers: { authorization: `Bearer ${s.token}`, 'last-event-id': String(k) } });
    expect(raw.headers.get('content-type')).toContain('text/event-stream');
    const body = await raw.text();
    expect([...body.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))).toEqual(chunks.slice(2).map((c) => c.seq));
    expect(body).toMatch(/event: end\n/);

    const missing = await fetch(`${s.url}/api/v1/commands/cmd_nope/output`, { headers: { authorization: `Bearer ${s.token}` } });
    expect(missing.status).toBe(404);
  });

  it('a job\'s stream interleaves its commands\' output, ends each command, then says done', async () => {
    const s = await server();
    await agent(s, 'ja');
    await agent(s, 'jb');
    const job = await s.client.createJob({
      target: { nodes: ['ja', 'jb'] },
      type: 'exec.run',
      payload: { command: 'for i in 1 2; do echo "$(hostname)-$i"; sleep 0.2; done', shell: true },
    });
    const events: JobOutputEvent[] = [];
    for await (const e of s.client.jobOutput(job.id)) events.push(e);
    expect(events[events.length - 1]!.event).toBe('done');
    const done = events[events.length - 1] as Extract<JobOutputEvent, { event: 'done' }>;
    expect(done.job).toMatchObject({ id: job.id, state: 'succeeded' });
    const ends = events.filter((e): e is Extract<JobOutputEvent, { event: 'end' }> => e.event === 'end');
    expect(ends.map((e) => e.commandId).sort()).toEqual(job.commands.map((c) => c.id).sort());
    for (const c of job.commands) {
      const mine = events.flatMap((e) => (e.event === 'output' && e.chunk.commandId === c.id ? [e.chunk] : []));
      expect(mine.map((m) => m.seq)).toEqual(mine.map((_, i) => i));
      expect(mine.every((m) => m.nodeId === c.nodeId)).toBe(true);
      expect(mine.map((m) => m.data).join('').trim().split('\n')).toHaveLength(2);
      // A command's output all comes before its end.
      const endAt = events.findIndex((e) => e.event === 'end' && e.commandId === c.id);
      const lastOutput = events.map((e, i) => (e.event === 'output' && e.chunk.commandId === c.id ? i : -1)).reduce((a, b) => Math.max(a, b));
      expect(lastOutput).toBeLessThan(endAt);
    }
  });

  it('kill -9 of the agent mid-stream: every chunk in its journal reaches the control plane, in order, once', async () => {
    const s = await server();
    const a = await agent(s, 'crashy');
    const { command } = await s.client.submitCommand({
      node: 'crashy',
      type: 'exec.run',
      payload: { command: 'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); echo $i; sleep 0.005; done', shell: true },
    });
    await waitFor('some output stored', async () => {
      let n = 0;
      for await (const e of s.client.commandOutput(command.id, { follow: false })) if (e.event === 'output') n++;
      return n >= 20;
    });
    await a.kill('SIGKILL');
    // What the agent had journaled and not yet seen acknowledged, read from its journal after the kill.
    const journal = new Database(join(a.dataDir, 'journal.db'));
    const journaled = journal.prepare('select seq, stream, data from output_outbox where command_id = ? order by seq').all(command.id) as OutputChunk[];
    journal.close();

    const again = startAgentProcess({ server: s.url, dataDir: a.dataDir, name: 'crashy' });
    cleanup.push(() => again.kill('SIGKILL'));
    await waitOnline(s, 'crashy', again);
    const { events } = await collect(s.client.commandOutput(command.id));
    const end = events[events.length - 1] as Extract<CommandOutputEvent, { event: 'end' }>;
    expect(end.event).toBe('end');
    expect(end.command).toMatchObject({ state: 'failed', error: { code: 'interrupted' } });
    const chunks = chunksOf(events);
    // Contiguous seqs from 0, and the lines count up by one: nothing lost, nothing twice.
    expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i));
    const numbers = textOf(chunks).split('\n').filter(Boolean).map(Number);
    expect(numbers).toEqual(numbers.map((_, i) => i + 1));
    const bySeq = new Map(chunks.map((c) => [c.seq, c]));
    for (const j of journaled) expect(bySeq.get(j.seq)).toMatchObject({ stream: j.stream, data: j.data });
  });

  it('stops storing at the cap and says so; the result keeps the tail', async () => {
    const s = await server({ STEWARD_LIMIT_COMMAND_OUTPUT_BYTES: '1000' });
    await agent(s, 'loud');
    const { command } = await s.client.submitCommand({
      node: 'loud',
      type: 'exec.run',
      payload: { command: 'i=0; while [ $i -lt 500 ]; do i=$((i+1)); echo "line $i"; done', shell: true },
    });
    const { events } = await collect(s.client.commandOutput(command.id));
    const truncated = events.find((e) => e.event === 'truncated') as Extract<CommandOutputEvent, { event: 'truncated' }> | undefined;
    expect(truncated?.bytes).toBeGreaterThan(0);
    expect(truncated!.bytes).toBeLessThanOrEqual(1000);
    const stored = textOf(chunksOf(events));
    expect(Buffer.byteLength(stored)).toBe(truncated!.bytes);
    expect(stored.startsWith('line 1\nline 2\n')).toBe(true);
    const end = events[events.length - 1] as Extract<CommandOutputEvent, { event: 'end' }>;
    expect(end.command.state).toBe('succeeded');
    expect((end.command.result as { stdout: string }).stdout.endsWith('line 499\nline 500\n')).toBe(true);

    // A job's stream says it too, once, after the command's last kept chunk and before its end.
    const job = await s.client.createJob({ target: { nodes: ['loud'] }, type: 'exec.run', payload: { command: 'seq 1 500', shell: true } });
    const jobEvents: JobOutputEvent[] = [];
    for await (const ev of s.client.jobOutput(job.id)) jobEvents.push(ev);
    const kinds = jobEvents.map((e) => e.event);
    expect(kinds.filter((k) => k === 'truncated')).toHaveLength(1);
    const cut = kinds.indexOf('truncated');
    expect(kinds.lastIndexOf('output')).toBeLessThan(cut);
    expect(kinds.indexOf('end')).toBeGreaterThan(cut);
    const jobCut = jobEvents[cut] as Extract<JobOutputEvent, { event: 'truncated' }>;
    const kept = jobEvents.flatMap((e) => (e.event === 'output' ? [e.chunk.data] : [])).join('');
    expect(jobCut).toMatchObject({ commandId: job.commands[0]!.id, nodeId: job.commands[0]!.nodeId, bytes: Buffer.byteLength(kept) });
    expect(jobCut.bytes).toBeLessThanOrEqual(1000);
  });
});
