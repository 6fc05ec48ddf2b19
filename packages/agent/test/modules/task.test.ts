import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModules, resolveModuleSettings, type ModuleRegistry } from '../../src/modules/registry.js';
import { OrphanRegistry } from '../../src/modules/task/orphans.js';
import { parseStat } from '../../src/modules/task/proc.js';
import { startWatchdog } from '../../src/modules/task/runner.js';
import type { TaskPool } from '../../src/modules/task/index.js';
import type { AgentConfig } from '../../src/config.js';
import { processGone, waitFor } from '../../../../test/support/wait.js';
import { failure, run, tempDir, testConfig, testContext, testLink, type Emitted, type Written } from './context.js';

let registry: ModuleRegistry;
beforeAll(async () => {
  registry = await loadModules(['task']);
});

async function pool(edit?: (c: AgentConfig) => void, settings: Record<string, unknown> = {}): Promise<{ pool: TaskPool; config: AgentConfig }> {
  const dataDir = await tempDir();
  const config = testConfig(dataDir, edit);
  const mod = registry.loaded()[0]!;
  const resolved = resolveModuleSettings([mod], { task: { flushMs: 20, killGraceMs: 500, sampleMs: 50, ...settings } });
  const inst = (await mod.start!({ name: 'task', config, settings: resolved.task, dataDir: join(dataDir, 'modules', 'task'), log: pino({ level: 'silent' }), link: testLink(), emit: () => {} })) as TaskPool;
  return { pool: inst, config };
}

let n = 0;
function payload(extra: Record<string, unknown>) {
  n++;
  return { taskId: `task_${n}`, attemptId: `att_${n}`, timeoutMs: 30_000, ...extra };
}

describe('task module', () => {
  it('runs an exec task, streams stdout and stderr in order with sequence numbers, and reports usage', async () => {
    const { pool: p, config } = await pool();
    const output: Written = [];
    const res = await run(
      registry,
      'task.run',
      payload({ kind: 'exec', command: 'sh', args: ['-c', 'echo one; sleep 0.1; echo two >&2; sleep 0.1; echo three'] }),
      testContext(config, undefined, { module: p, output }),
    );
    expect(res).toMatchObject({ exitCode: 0, signal: null, truncated: false, outputBytes: 14 });
    expect(res.tail).toBe('one\ntwo\nthree\n');
    // Written to the command's output stream (it numbers and journals the chunks), in order.
    expect(output.map((o) => `${o.stream}:${o.data}`).join('')).toBe('stdout:one\nstderr:two\nstdout:three\n');
    expect(res.cpuMs).not.toBeNull();
    expect(res.peakMemoryBytes).toBeGreaterThan(0);
    await p.stop();
  });

  it('runs a script with the named interpreter and its args; ::progress lines set the progress', async () => {
    const { pool: p, config } = await pool();
    const emitted: Emitted = [];
    const res = await run(
      registry,
      'task.run',
      payload({ kind: 'script', interpreter: 'sh', script: 'echo "::progress 10"\necho "arg=$1"\necho "::progress 75%"\n', args: ['x y'] }),
      testContext(config, undefined, { module: p, emitted }),
    );
    expect(res.exitCode).toBe(0);
    expect(res.tail).toContain('arg=x y');
    expect(emitted.filter((e) => e.event === 'progress').map((e) => (e.data as { percent: number }).percent)).toEqual([10, 75]);
    // The scratch directory with the script is gone afterwards.
    expect(readdirSync(p.workDir)).toEqual([]);
    await p.stop();
  });

  it('a non-zero exit fails with the result kept; a missing program fails to spawn', async () => {
    const { pool: p, config } = await pool();
    const f = await failure(run(registry, 'task.run', payload({ kind: 'exec', command: 'sh', args: ['-c', 'echo bad >&2; exit 3'] }), testContext(config, undefined, { module: p })));
    expect(f.code).toBe('nonzero_exit');
    expect(f.result).toMatchObject({ exitCode: 3, tail: 'bad\n' });
    const g = await failure(run(registry, 'task.run', payload({ kind: 'exec', command: 'no-such-program-xyz' }), testContext(config, undefined, { module: p })));
    expect(g.code).toBe('spawn_failed');
    await p.stop();
  });

  it('bounds the streamed output and marks it truncated, but keeps draining the pipe', async () => {
    const { pool: p, config } = await pool(undefined, { maxOutputBytes: 1000, chunkBytes: 256 });
    const output: Written = [];
    const res = await run(
      registry,
      'task.run',
      payload({ kind: 'exec', command: 'sh', args: ['-c', 'head -c 200000 /dev/zero | tr "\\0" x; echo; echo end'] }),
      testContext(config, undefined, { module: p, output }),
    );
    expect(res.exitCode).toBe(0);
    expect(res.truncated).toBe(true);
    const sent = output.reduce((s, o) => s + o.data.length, 0);
    expect(sent).toBeLessThanOrEqual(1000);
    expect(res.outputBytes).toBe(sent);
    expect(res.tail.endsWith('end\n')).toBe(true);
    await p.stop();
  });

  it('a timeout kills the whole process group and ends timed_out', async () => {
    const { pool: p, config } = await pool();
    const pidFile = join(await tempDir(), 'pid');
    const f = await failure(
      run(
        registry,
        'task.run',
        payload({ kind: 'exec', command: 'sh', args: ['-c', `sleep 30 & echo $! > ${pidFile}; wait`], timeoutMs: 300 }),
        testContext(config, undefined, { module: p }),
      ),
    );
    expect(f.code).toBe('timed_out');
    expect(f.state).toBe('timed_out');
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    await waitFor('the grandchild to be gone', () => processGone(grandchild));
    await p.stop();
  });

  it('cancel sends SIGTERM to the group, then SIGKILL to what ignores it; a grandchild is gone too', async () => {
    const { pool: p, config } = await pool();
    const dir = await tempDir();
    const ac = new AbortController();
    // The child ignores SIGTERM and starts a grandchild that does too: only SIGKILL ends them.
    const script = `trap '' TERM; sh -c 'trap "" TERM; echo $$ > ${dir}/gc; sleep 30' & echo $$ > ${dir}/c; wait`;
    const running = run(registry, 'task.run', payload({ kind: 'exec', command: 'sh', args: ['-c', script] }), testContext(config, ac.signal, { module: p }));
    const [child, grandchild] = await waitFor('both pid files', () => existsSync(`${dir}/c`) && existsSync(`${dir}/gc`) && [Number(readFileSync(`${dir}/c`, 'utf8')), Number(readFileSync(`${dir}/gc`, 'utf8'))]);
    expect(p.report().running).toHaveLength(1);
    const t0 = Date.now();
    ac.abort();
    const f = await failure(running);
    expect(f.code).toBe('aborted');
    expect(processGone(child!) && processGone(grandchild!)).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400); // it took the SIGKILL after the grace
    expect(p.report().running).toHaveLength(0);
    await p.stop();
  });

  it('fencing stops every running attempt (SIGTERM, then SIGKILL after the fence grace) and ends it `fenced`', async () => {
    const { pool: p, config } = await pool(undefined, { killGraceMs: 30_000 });
    const dir = await tempDir();
    // Ignores SIGTERM, as does its grandchild: only the SIGKILL after the fence's grace (not the 30 s of its own) ends them.
    const script = `trap '' TERM; sh -c 'trap "" TERM; echo $$ > ${dir}/gc; sleep 30' & echo $$ > ${dir}/c; wait`;
    const running = run(registry, 'task.run', payload({ kind: 'exec', command: 'sh', args: ['-c', script] }), testContext(config, undefined, { module: p }));
    const [child, grandchild] = await waitFor('both pid files', () => existsSync(`${dir}/c`) && existsSync(`${dir}/gc`) && [Number(readFileSync(`${dir}/c`, 'utf8')), Number(readFileSync(`${dir}/gc`, 'utf8'))]);
    expect(p.fence(300, 'no acknowledgement for 3s')).toBe(1);
    // Already being stopped: not counted again.
    expect(p.fence(300, 'still none')).toBe(0);
    const f = await failure(running);
    expect(f.code).toBe('fenced');
    expect(f.message).toContain('no acknowledgement for 3s');
    expect(processGone(child!) && processGone(grandchild!)).toBe(true);
    expect(p.report().running).toHaveLength(0);
    await p.stop();
  });

  it('the watchdog stops the task group when the agent dies (its pipe closes), and leaves it alone once released', async () => {
    const spawnGroup = () => spawn('sh', ['-c', 'sleep 30 & wait'], { detached: true, stdio: 'ignore' });
    // Released (the task ended): the watchdog exits and the group is not touched.
    const kept = spawnGroup();
    const released = startWatchdog(kept.pid!, 500)!;
    const exited = new Promise((r) => released.process.once('exit', (code) => r(code)));
    released.release();
    expect(await exited).toBe(0);
    expect(kept.exitCode === null && kept.signalCode === null).toBe(true);
    kept.kill('SIGKILL');
    // The agent's end of the pipe closes without a release (what its death does): the group is stopped.
    const orphan = spawnGroup();
    const w = startWatchdog(orphan.pid!, 500)!;
    w.process.stdin!.destroy();
    await waitFor('the orphaned group stopped', () => orphan.exitCode !== null || orphan.signalCode !== null);
    expect(orphan.signalCode).toBe('SIGTERM');
  });

  it('when the main process exits, what it left in its group is stopped', async () => {
    const { pool: p, config } = await pool();
    const dir = await tempDir();
    const res = await run(
      registry,
      'task.run',
      payload({ kind: 'exec', command: 'sh', args: ['-c', `sleep 30 & echo $! > ${dir}/bg; exit 0`] }),
      testContext(config, undefined, { module: p }),
    );
    expect(res.exitCode).toBe(0);
    const bg = Number(readFileSync(`${dir}/bg`, 'utf8'));
    await waitFor('the background process to be gone', () => processGone(bg));
    await p.stop();
  });

  it('reports slots (default: the configured cores), running attempts, load and disk', async () => {
    const { pool: p } = await pool((c) => {
      c.resources.cpuCores = 3;
      c.resources.diskBytes = 5e9;
    });
    expect(p.report()).toMatchObject({ slots: 3, running: [], diskBytes: 5e9 });
    expect(p.report().load).toBeGreaterThanOrEqual(0);
    const { pool: q } = await pool(undefined, { slots: 7 });
    expect(q.report().slots).toBe(7);
    await p.stop();
    await q.stop();
  });

  it('a bad setting stops the module with the field named', async () => {
    const mod = registry.loaded()[0]!;
    let err: unknown;
    try {
      resolveModuleSettings([mod], { task: { slots: -1 } });
    } catch (e) {
      err = e;
    }
    expect((err as { details: { issues: { field: string }[] } }).details.issues[0]!.field).toBe('task.slots');
  });

  it('kills the process group a killed agent left behind (same pid and start time only)', async () => {
    const dir = await tempDir();
    const orphans = new OrphanRegistry(dir);
    const child = spawn('sh', ['-c', 'sleep 30 & wait'], { detached: true, stdio: 'ignore' });
    await waitFor('the child to start', () => existsSync(`/proc/${child.pid}/stat`));
    orphans.add(child.pid!, 'cmd_x');
    // A record whose start time does not match is a reused pid: left alone.
    writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify({ pid: process.pid, startTicks: 1, commandId: 'cmd_y' }));
    const killed = await orphans.killLeftovers(pino({ level: 'silent' }));
    expect(killed).toBe(1);
    await waitFor('the child to exit', () => child.exitCode !== null || child.signalCode !== null);
    expect(child.signalCode).toBe('SIGKILL');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('parses /proc/<pid>/stat with spaces and parentheses in the name', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3)).join(' ');
    const st = parseStat(`123 (a (b) c) ${fields}`);
    expect(st).toMatchObject({ pid: 123, ppid: 4, pgrp: 5, startTicks: 22 });
    expect(st!.cpuMs).toBe((14 + 15 + 16 + 17) * 10);
  });
});
