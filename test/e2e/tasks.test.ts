import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '@steward/client';
import type { Node, TaskCreate, TaskDetail, TaskRequirements } from '@steward/protocol';
import { matchesSelector, parseSelector } from '@steward/protocol';
import {
  addAgent,
  heartbeatsAfter,
  startAgentProcess,
  startServerProcess,
  STEWARD_BIN,
  tempDir,
  waitOnline,
  type AgentProc,
  type ServerProc,
} from '../support/processes.js';
import { processGone, waitFor } from '../support/wait.js';

const GB = 2 ** 30;
const TERMINAL = ['succeeded', 'failed', 'cancelled'];

/** Agent YAML: what the node advertises (cores, memory, disk, capabilities) and its slots. */
function agentYaml(o: { cores: number; memGB: number; diskGB?: number; slots: number; caps?: string[] }): string {
  return [
    `resources: { cpuCores: ${o.cores}, memoryBytes: ${o.memGB * GB}, diskBytes: ${(o.diskGB ?? 50) * GB} }`,
    `capabilities: [${(o.caps ?? []).join(', ')}]`,
    `task: { slots: ${o.slots}, killGraceMs: 500, flushMs: 30 }`,
    '',
  ].join('\n');
}

/** Checks an attempt's node against the task's requirements, as the inventory shows the node. */
function meets(n: Node, r: TaskRequirements): boolean {
  if (r.cpuCores !== undefined && n.cpuCores < r.cpuCores) return false;
  if (r.memoryMB !== undefined && n.memoryBytes < r.memoryMB * 2 ** 20) return false;
  if (r.arch !== undefined && n.arch !== r.arch) return false;
  if (r.platform !== undefined && n.os.platform !== r.platform) return false;
  if (r.selector !== undefined && !matchesSelector(n.labels, parseSelector(r.selector))) return false;
  for (const c of r.capabilities ?? []) if (!n.capabilities.includes(c)) return false;
  return true;
}

/** Most attempts that held a slot of one node at the same time ([placedAt, finishedAt)). */
function maxOverlap(intervals: [number, number][]): number {
  const points = intervals.flatMap(([a, b]) => [
    [a, 1],
    [b, -1],
  ]);
  points.sort((x, y) => x[0]! - y[0]! || x[1]! - y[1]!);
  let cur = 0;
  let max = 0;
  for (const [, d] of points) max = Math.max(max, (cur += d!));
  return max;
}

describe('compute tasks with real agents', { timeout: 120_000 }, () => {
  let server: ServerProc;
  const agents: AgentProc[] = [];
  const slots: Record<string, number> = { big: 2, small: 1, mid: 2 };

  beforeAll(async () => {
    server = await startServerProcess({ env: { STEWARD_TASK_TICK_MS: '200' } });
    // One after the other: three agent processes starting at once on a busy 2-core machine can take long.
    agents.push(await addAgent(server, 'big', ['zone=a'], agentYaml({ cores: 8, memGB: 16, slots: slots.big!, caps: ['gpu-fake'] })));
    agents.push(await addAgent(server, 'small', ['zone=b'], agentYaml({ cores: 1, memGB: 1, diskGB: 2, slots: slots.small! })));
    agents.push(await addAgent(server, 'mid', ['zone=a'], agentYaml({ cores: 4, memGB: 4, slots: slots.mid! })));
    // Placeable once each node's task report arrived.
    await waitFor('three nodes schedulable', async () => {
      const r = await server.client.submitTask({ kind: 'exec', payload: { command: 'true' }, requirements: { selector: 'zone' } });
      return (await server.client.getTask(r.task.id, { wait: 10 })).state === 'succeeded';
    }, { timeoutMs: 30_000, intervalMs: 200 });
  }, 90_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.kill()));
    await server?.kill();
  });

  const submit = async (body: TaskCreate) => (await server.client.submitTask(body)).task;
  const waitEnd = async (id: string, ms = 30_000): Promise<TaskDetail> =>
    waitFor(`task ${id} ended`, async () => {
      const t = await server.client.getTask(id, { wait: 5 });
      return TERMINAL.includes(t.state) && t;
    }, { timeoutMs: ms, intervalMs: 10 });

  it('requirements are never violated and no node runs more attempts than its slots', async () => {
    const reqs: TaskRequirements[] = [
      {},
      { cpuCores: 4 },
      { memoryMB: 8 * 1024 },
      { selector: 'zone=b' },
      { capabilities: ['gpu-fake'] },
      { cpuCores: 2, selector: 'zone=a' },
      { diskMB: 10 * 1024 },
    ];
    const ids: string[] = [];
    for (let i = 0; i < 28; i++) {
      ids.push((await submit({ kind: 'exec', payload: { command: 'sleep', args: ['0.3'] }, requirements: reqs[i % reqs.length] })).id);
    }
    const done = await Promise.all(ids.map((id) => waitEnd(id, 60_000)));
    const nodes = new Map((await server.client.listNodes()).items.map((n) => [n.id, n]));
    const occupancy = new Map<string, [number, number][]>();
    for (const t of done) {
      expect(t.state).toBe('succeeded');
      expect(t.attemptList).toHaveLength(1);
      const a = t.attemptList[0]!;
      const n = nodes.get(a.nodeId)!;
      expect(meets(n, t.requirements), `${t.id} ${JSON.stringify(t.requirements)} on ${n.name}`).toBe(true);
      occupancy.set(n.name, [...(occupancy.get(n.name) ?? []), [a.placedAt, a.finishedAt!]]);
    }
    for (const [name, iv] of occupancy) expect(maxOverlap(iv), name).toBeLessThanOrEqual(slots[name]!);
    // The load was enough to fill each node to its slots at some point.
    expect(maxOverlap(occupancy.get('big')!)).toBe(slots.big);
  });

  it('priorities order the queue (the highest first, oldest first within one)', async () => {
    await server.client.setSchedulerPaused(true);
    const order = ['low', 'normal', 'high', 'critical', 'high'] as const;
    const ids: string[] = [];
    for (const priority of order) {
      ids.push((await submit({ kind: 'exec', payload: { command: 'sleep', args: ['0.1'] }, priority, requirements: { selector: 'zone=b' } })).id);
    }
    const queued = await server.client.getTask(ids[0]!);
    expect(queued.state).toBe('queued');
    await server.client.setSchedulerPaused(false);
    const done = await Promise.all(ids.map((id) => waitEnd(id)));
    const byStart = [...done].sort((a, b) => a.attemptList[0]!.placedAt - b.attemptList[0]!.placedAt || a.attemptList[0]!.id.localeCompare(b.attemptList[0]!.id));
    expect(byStart.map((t) => t.id)).toEqual([ids[3], ids[2], ids[4], ids[1], ids[0]]);
  });

  it('a failing task is retried with exponential backoff, each try its own attempt, then fails', async () => {
    const t = await submit({ kind: 'exec', payload: { command: 'sh', args: ['-c', 'echo try >&2; exit 7'] }, maxRetries: 3, retryDelayMs: 200 });
    const done = await waitEnd(t.id);
    expect(done.state).toBe('failed');
    expect(done.exitCode).toBe(7);
    expect(done.error?.code).toBe('nonzero_exit');
    expect(done.attemptList.map((a) => [a.number, a.state, a.exitCode])).toEqual([
      [1, 'failed', 7],
      [2, 'failed', 7],
      [3, 'failed', 7],
      [4, 'failed', 7],
    ]);
    const gaps = done.attemptList.slice(1).map((a, i) => a.placedAt - done.attemptList[i]!.finishedAt!);
    expect(gaps[0]).toBeGreaterThanOrEqual(200);
    expect(gaps[1]).toBeGreaterThanOrEqual(400);
    expect(gaps[2]).toBeGreaterThanOrEqual(800);
  });

  it('streams output live (chunks before the end) with progress, and keeps it for later readers', async () => {
    const script = 'for i in 1 2 3 4; do echo "line $i"; echo "::progress $((i*25))"; sleep 0.4; done; echo oops >&2';
    const t = await submit({ kind: 'script', payload: { interpreter: 'bash', script } });
    const seen: { kind: string; at: number; data?: string; progress?: number | null; state?: string }[] = [];
    for await (const e of server.client.taskOutput(t.id)) {
      if (e.kind === 'output') seen.push({ kind: 'output', at: Date.now(), data: e.chunk.data });
      else seen.push({ kind: e.kind, at: Date.now(), progress: e.state.progress, state: e.state.state });
    }
    const end = seen.at(-1)!;
    expect(end).toMatchObject({ kind: 'end', state: 'succeeded' });
    const outputs = seen.filter((e) => e.kind === 'output');
    expect(outputs.map((o) => o.data).join('')).toContain('line 1\n');
    expect(outputs.map((o) => o.data).join('')).toContain('oops\n');
    // Live: the first line arrived well before the task ended (it sleeps 1.6 s after it).
    expect(end.at - outputs[0]!.at).toBeGreaterThan(800);
    const progress = seen.filter((e) => e.kind === 'state' && e.state === 'running').map((e) => e.progress);
    expect(progress.some((p) => p !== null && p !== undefined && p > 0 && p < 100)).toBe(true);
    // A later reader gets everything stored, then the end at once.
    const again: string[] = [];
    for await (const e of server.client.taskOutput(t.id, { follow: false })) if (e.kind === 'output') again.push(e.chunk.data);
    expect(again.join('')).toBe(outputs.map((o) => o.data).join(''));
    const shown = await server.client.getTask(t.id);
    expect(shown.attemptList[0]).toMatchObject({ state: 'succeeded', exitCode: 0, progress: 100 });
    expect(shown.attemptList[0]!.cpuMs).not.toBeNull();
    expect(shown.attemptList[0]!.peakMemoryBytes).toBeGreaterThan(0);
  });

  it('cancel stops the whole process tree: a grandchild is gone', async () => {
    const dir = tempDir('steward-task-cancel-');
    const script = `sh -c 'echo $$ > ${dir}/gc; sleep 60' & echo $$ > ${dir}/c; wait`;
    const t = await submit({ kind: 'exec', payload: { command: 'sh', args: ['-c', script] } });
    await waitFor('task running with its grandchild', () => existsSync(`${dir}/gc`) && existsSync(`${dir}/c`), { timeoutMs: 20_000 });
    const pids = [Number(readFileSync(`${dir}/c`, 'utf8')), Number(readFileSync(`${dir}/gc`, 'utf8'))];
    const cancelled = await server.client.cancelTask(t.id);
    expect(cancelled.state).toBe('cancelled');
    expect(cancelled.attemptList[0]!.state).toBe('cancelled');
    await waitFor('process tree gone', () => pids.every(processGone), { timeoutMs: 10_000 });
    await expect(server.client.cancelTask(t.id)).rejects.toMatchObject({ status: 409 });
  });

  it('an unplaceable task shows why, and runs as soon as a fitting node joins', async () => {
    const t = await submit({ kind: 'exec', payload: { command: 'echo', args: ['late'] }, requirements: { memoryMB: 64 * 1024, capabilities: ['late-cap'] } });
    const why = await waitFor('a reason', async () => {
      const r = (await server.client.getTask(t.id)).reason;
      return r?.startsWith('no online node') && r;
    });
    expect(why).toBe('no online node has 64 GB memory, capability late-cap');
    expect((await server.client.getTask(t.id)).state).toBe('queued');
    const listed = (await server.client.listTasks({ state: 'queued' })).items.find((x) => x.id === t.id);
    expect(listed?.reason).toBe(why);
    agents.push(await addAgent(server, 'late', [], agentYaml({ cores: 2, memGB: 64, slots: 1, caps: ['late-cap'] })));
    const done = await waitEnd(t.id);
    expect(done.state).toBe('succeeded');
    expect(done.nodeId).toBe((await server.client.getNode('late')).id);
  });

  it('killing an agent (SIGKILL) mid-task runs the task again on another node; the result is recorded once', async () => {
    const cfg = agentYaml({ cores: 2, memGB: 2, slots: 1 });
    const k1 = await addAgent(server, 'kill-1', ['pool=k'], cfg);
    const k2 = await addAgent(server, 'kill-2', ['pool=k'], cfg);
    agents.push(k2);
    const dir = tempDir('steward-task-kill-');
    const out = join(dir, 'done');
    // The first copy sleeps long (it is to be stopped, however slowly its agent comes back), the second briefly.
    const script = `[ -e ${dir}/began ] && t=1 || t=120; touch ${dir}/began; echo $$ > ${dir}/$STEWARD_TASK_ATTEMPT_ID.pid; sleep $t; echo "$STEWARD_TASK_ATTEMPT_ID" >> ${out}`;
    const t = await submit({ kind: 'exec', payload: { command: 'sh', args: ['-c', script] }, requirements: { selector: 'pool=k' } });
    const first = await waitFor('first attempt running', async () => {
      const d = await server.client.getTask(t.id);
      return d.state === 'running' && existsSync(`${dir}/${d.attemptList[0]!.id}.pid`) && d.attemptList[0];
    });
    const orphan = Number(readFileSync(`${dir}/${first.id}.pid`, 'utf8'));
    const victimName = first.nodeId === (await server.client.getNode('kill-1')).id ? 'kill-1' : 'kill-2';
    const victim = victimName === 'kill-1' ? k1 : k2;
    agents.push(victim === k1 ? k2 : k1);
    await victim.kill('SIGKILL');
    // The task's watchdog sees its agent's end of the pipe close and stops the group at once,
    // before any restart (and before the control plane may place the task again).
    await waitFor('the orphaned first copy stopped by its watchdog', () => processGone(orphan), { timeoutMs: 10_000 });
    const second = await waitFor('placed again elsewhere', async () => {
      const d = await server.client.getTask(t.id);
      return d.attemptList.length === 2 && d.attemptList[1];
    }, { timeoutMs: 20_000, intervalMs: 100 });
    expect(second.nodeId).not.toBe(first.nodeId);
    // The killed agent comes back: it stops the process group its predecessor left running, so
    // the lost attempt never has its effect.
    const back = startAgentProcess({ server: server.url, dataDir: victim.dataDir, config: cfg });
    agents.push(back);
    await waitOnline(server, victimName, back);
    const done = await waitEnd(t.id, 40_000);
    expect(done.state).toBe('succeeded');
    expect(done.attemptList.map((a) => a.state)).toEqual(['lost', 'succeeded']);
    expect(done.attemptList[0]!.error?.code).toBe('node_lost');
    // The restarted agent's report of the first copy (interrupted) has reached the control plane.
    await waitFor('the restarted agent to report the interrupted attempt', () => back.output().includes('interrupted by an agent restart'), { timeoutMs: 60_000 });
    await heartbeatsAfter(server, victimName);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toEqual([second.id]);
    // The restarted agent's late report of the first attempt (interrupted) changed nothing.
    expect((await server.client.getTask(t.id)).attemptList.map((a) => a.state)).toEqual(['lost', 'succeeded']);
  });

  it('a node that comes back still running a lost attempt is told to stop it, and its result is ignored', async () => {
    const cfg = agentYaml({ cores: 2, memGB: 2, slots: 1 });
    const p1 = await addAgent(server, 'part-1', ['pool=p'], cfg);
    const p2 = await addAgent(server, 'part-2', ['pool=p'], cfg);
    agents.push(p1, p2);
    const dir = tempDir('steward-task-part-');
    // The first copy sleeps long: the control plane waits out the node's fence before placing
    // the task again (docs/tasks.md#fencing), and a stopped agent cannot fence, so it is still
    // running then. The second copy is brief.
    const script = `[ -e ${dir}/began ] && t=1 || t=120; touch ${dir}/began; echo $$ > ${dir}/$STEWARD_TASK_ATTEMPT_ID.pid; sleep $t; echo "$STEWARD_TASK_ATTEMPT_ID" >> ${dir}/done`;
    const t = await submit({ kind: 'exec', payload: { command: 'sh', args: ['-c', script] }, requirements: { selector: 'pool=p' } });
    const first = await waitFor('first attempt running', async () => {
      const d = await server.client.getTask(t.id);
      return d.state === 'running' && existsSync(`${dir}/${d.attemptList[0]!.id}.pid`) && d.attemptList[0];
    });
    const frozen = first.nodeId === (await server.client.getNode('part-1')).id ? p1 : p2;
    const pid = Number(readFileSync(`${dir}/${first.id}.pid`, 'utf8'));
    // Freeze the agent (its task keeps running, and a stopped agent cannot fence it): silent, it
    // is marked offline and, once its fence has passed, the attempt lost.
    frozen.child.kill('SIGSTOP');
    try {
      await waitFor('attempt lost and placed again', async () => {
        const d = await server.client.getTask(t.id);
        return d.attemptList.length === 2 && d.attemptList[0]!.state === 'lost';
      }, { timeoutMs: 30_000, intervalMs: 100 });
      expect(processGone(pid)).toBe(false);
    } finally {
      frozen.child.kill('SIGCONT');
    }
    // Back online, its report lists the lost attempt: it is cancelled there.
    await waitFor('the lost copy stopped', () => processGone(pid), { timeoutMs: 15_000, intervalMs: 100 });
    const done = await waitEnd(t.id, 30_000);
    expect(done.state).toBe('succeeded');
    // The lost copy is gone (above), so it never appends; the thawed node's result for it has
    // arrived before its next heartbeats.
    await heartbeatsAfter(server, frozen === p1 ? 'part-1' : 'part-2');
    expect(readFileSync(`${dir}/done`, 'utf8').trim().split('\n')).toEqual([done.attemptList[1]!.id]);
    expect((await server.client.getTask(t.id)).attemptList.map((a) => a.state)).toEqual(['lost', 'succeeded']);
  });

  it('bad input gets 400 naming the field and creates nothing; requestId dedupes (200) or conflicts (409)', async () => {
    const before = (await server.client.listTasks({ limit: 10_000 })).items.length;
    const bad: [unknown, string][] = [
      [{ kind: 'exec', payload: {} }, 'payload.command'],
      [{ kind: 'script', payload: { interpreter: 'python3' } }, 'payload.script'],
      [{ kind: 'script', payload: { interpreter: 'py thon', script: 'x' } }, 'payload.interpreter'],
      [{ kind: 'exec', payload: { command: 'true' }, requirements: { memoryMB: -1 } }, 'requirements.memoryMB'],
      [{ kind: 'exec', payload: { command: 'true' }, requirements: { selector: 'a=b=c' } }, 'requirements.selector'],
      [{ kind: 'exec', payload: { command: 'true' }, priority: 'urgent' }, 'priority'],
      [{ kind: 'exec', payload: { command: 'true' }, maxRetries: 1000 }, 'maxRetries'],
      [{ kind: 'shell', payload: { command: 'true' } }, 'kind'],
    ];
    for (const [body, field] of bad) {
      const err = await server.client.submitTask(body as TaskCreate).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(body)).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(400);
      expect((err as ApiError).issues.map((i) => i.field), JSON.stringify(body)).toContain(field);
    }
    expect((await server.client.listTasks({ limit: 10_000 })).items.length).toBe(before);
    const body: TaskCreate = { kind: 'exec', payload: { command: 'true' }, requestId: 'req-task-1' };
    const a = await server.client.submitTask(body);
    const b = await server.client.submitTask(body);
    expect([a.created, b.created]).toEqual([true, false]);
    expect(b.task.id).toBe(a.task.id);
    await expect(server.client.submitTask({ ...body, priority: 'high' })).rejects.toMatchObject({ status: 409 });
    await expect(server.client.getTask('task_nope')).rejects.toMatchObject({ status: 404 });
  });

  it('the CLI submits with requirements, follows the output and shows the task', async () => {
    const env = { ...process.env, STEWARD_SERVER: server.url, STEWARD_TOKEN: server.token };
    const cli = (args: string[]) =>
      new Promise<{ code: number; out: string; err: string }>((resolve) => {
        const c = spawn(process.execPath, [STEWARD_BIN, ...args], { env });
        let out = '';
        let err = '';
        c.stdout.on('data', (d) => (out += d));
        c.stderr.on('data', (d) => (err += d));
        c.on('close', (code) => resolve({ code: code ?? -1, out, err }));
      });
    const script = join(tempDir('steward-task-cli-'), 'job.sh');
    writeFileSync(script, 'echo "hello from $1"\n');
    const r = await cli(['tasks', 'submit', '--cap', 'gpu-fake', '--mem', '8G', '--priority', 'high', '--timeout', '1m', '--wait', '--script', script, '--interpreter', 'sh', '--', 'cli']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('hello from cli\n');
    const id = /^(task_\S+) queued/m.exec(r.out)![1]!;
    const shown = await cli(['tasks', 'show', id]);
    expect(shown.out).toMatch(/state:\s+succeeded/);
    expect(shown.out).toMatch(/\bbig\b/);
    const logs = await cli(['tasks', 'logs', id]);
    expect(logs.out).toBe('hello from cli\n');
    const ls = await cli(['tasks', 'ls', '--state', 'succeeded', '--limit', '3']);
    expect(ls.out).toContain(id);
    const usage = await cli(['tasks', 'submit', '--mem', 'lots', '--', 'true']);
    expect(usage.code).not.toBe(0);
    expect(usage.err).toContain('--mem');
    const fail = await cli(['tasks', 'submit', '--wait', '--', 'sh', '-c', 'exit 3']);
    expect(fail.code).toBe(1);
    expect(fail.out).toContain('failed (exit 3)');
  });
});
