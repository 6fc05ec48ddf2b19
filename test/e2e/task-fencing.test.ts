import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskDetail } from '@steward/protocol';
import { addAgent, heartbeatsAfter, startAgentProcess, startServerProcess, tempDir, waitOnline, type AgentProc, type ServerProc } from '../support/processes.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';

const TERMINAL = ['succeeded', 'failed', 'cancelled'];
const CONFIG = 'resources: { cpuCores: 2, memoryBytes: 2147483648, diskBytes: 50000000000 }\ntask: { slots: 1, killGraceMs: 500, flushMs: 30 }\n';

/** One line of the task's effect file: `<what> <attempt> <ms>`. */
interface Line {
  what: string;
  attempt: string;
  at: number;
}

function lines(file: string): Line[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [what, attempt, at] = l.split(' ');
      return { what: what!, attempt: attempt!, at: Number(at) };
    });
}

/**
 * Task fencing (docs/tasks.md#fencing) with real processes: an agent behind a TCP proxy runs a
 * task, the proxy is frozen (a partition: no FIN, no RST), the control plane marks the node
 * offline and places the task again on another node. The effect file, written by the task's own
 * processes, must show the first copy stopped (by its own agent, unacknowledged for the fence
 * time) before the second started, and the task must end once.
 */
describe('task fencing', { timeout: 120_000 }, () => {
  let server: ServerProc;
  let proxy: TcpProxy;
  let cutOff: AgentProc;
  let other: AgentProc | undefined;
  const dir = tempDir('steward-task-fence-');
  const effects = join(dir, 'effects');

  beforeAll(async () => {
    server = await startServerProcess({ env: { STEWARD_TASK_TICK_MS: '200' } });
    proxy = new TcpProxy(server.port);
    await proxy.start();
    const { token } = await server.client.createEnrollmentToken({ ttlSeconds: 600, uses: 1 });
    cutOff = startAgentProcess({ server: `http://127.0.0.1:${proxy.port}`, token, name: 'fence-cut', labels: ['pool=f'], config: CONFIG });
    await waitOnline(server, 'fence-cut', cutOff);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([cutOff?.kill(), other?.kill()]);
    await proxy?.stop();
    await server?.kill();
  });

  it('a partitioned agent stops its task before the control plane places it again; the task ends once', async () => {
    // Each copy writes start, a tick every 100 ms and end, with its attempt id and the time in ms;
    // SIGTERM (the fence) writes `term` and exits. The first copy would run 60 s, a later one 1 s.
    const line = (what: string) => `echo "${what} $STEWARD_TASK_ATTEMPT_ID $(date +%s%3N)" >> ${effects}`;
    const script = [
      `trap '${line('term')}; exit 143' TERM`,
      `[ -e ${dir}/began ] && n=10 || n=600`,
      `touch ${dir}/began`,
      line('start'),
      'i=0',
      'while [ $i -lt $n ]; do sleep 0.1; i=$((i+1)); ' + line('tick') + '; done',
      line('end'),
    ].join('\n');
    const t = await server.client.submitTask({ kind: 'exec', payload: { command: 'sh', args: ['-c', script] }, requirements: { selector: 'pool=f' } });
    const first = await waitFor('the first copy ticking', async () => {
      const d = await server.client.getTask(t.task.id);
      return d.state === 'running' && lines(effects).some((l) => l.what === 'tick') && d.attemptList[0];
    });
    // A second node for the task to go to, not behind the proxy.
    other = await addAgent(server, 'fence-other', ['pool=f'], CONFIG);
    proxy.freeze();
    const second = await waitFor(
      'the task placed again on the other node',
      async () => {
        const d = await server.client.getTask(t.task.id);
        return d.attemptList.length >= 2 && d.attemptList[1];
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const done: TaskDetail = await waitFor(
      'the task to end',
      async () => {
        const d = await server.client.getTask(t.task.id, { wait: 5 });
        return TERMINAL.includes(d.state) && d;
      },
      { timeoutMs: 60_000 },
    );
    const all = lines(effects);
    const ofFirst = all.filter((l) => l.attempt === first.id);
    const ofSecond = all.filter((l) => l.attempt === second.id);
    // The first copy was stopped by SIGTERM from its own agent: it wrote `term`, never `end`.
    expect(ofFirst.map((l) => l.what)).toContain('term');
    expect(ofFirst.map((l) => l.what)).not.toContain('end');
    // The second started only after the first's last line.
    expect(ofSecond[0]!.what).toBe('start');
    expect(Math.max(...ofFirst.map((l) => l.at))).toBeLessThan(ofSecond[0]!.at);
    // Final exactly once: one `end` in the file, the task succeeded with the second attempt.
    expect(all.filter((l) => l.what === 'end').map((l) => l.attempt)).toEqual([second.id]);
    expect(done.state).toBe('succeeded');
    expect(second.nodeId).toBe((await server.client.getNode('fence-other')).id);
    await proxy.restore();
    await waitOnline(server, 'fence-cut', cutOff, 60_000);
    // The cut-off agent's own report of its fenced copy has arrived (it reconnected and heartbeated); it changed nothing.
    await heartbeatsAfter(server, 'fence-cut');
    expect(cutOff.output()).toContain('fenced: stopping running tasks');
    const after = await server.client.getTask(t.task.id);
    expect(after.attemptList.map((a) => a.state)).toEqual(['lost', 'succeeded']);
    expect(after.state).toBe('succeeded');
  });
});
