import { describe, expect, it, vi } from 'vitest';
import shellModule from '../../src/modules/shell/index.js';
import { InputOrder } from '../../src/modules/shell/input-order.js';
import { createRegistry } from '../../src/modules/registry.js';
import type { SessionReceiver } from '../../src/core/session-input.js';
import type { ModuleInstance } from '../../src/modules/types.js';
import { ShellSettings } from '../../src/modules/shell/settings.js';
import { processGone, waitFor } from '../../../../test/support/wait.js';
import { failure, run, tempDir, testConfig, testContext, type Written } from './context.js';

const registry = createRegistry([shellModule]);

/** A session under test: its terminal output as written, and the receiver it attached for input. */
async function openSession(payload: Record<string, unknown>, settings: Partial<ShellSettings> = {}, signal?: AbortSignal) {
  const module = (await shellModule.start!({ settings: { enabled: true, maxIdleTimeoutMs: 86_400_000, ...settings } } as never)) as ModuleInstance;
  const chunks: Written = [];
  let receiver: SessionReceiver | undefined;
  const ctx = testContext(testConfig(await tempDir()), signal, { module, output: chunks, session: { attach: (r) => void (receiver = r) } });
  const done = run(registry, 'shell.session', payload, ctx);
  done.catch(() => {}); // inspected by the test
  const pty = () => chunks.filter((c) => c.stream === 'pty').map((c) => c.data).join('');
  const session = () => receiver ?? (() => { throw new Error('no receiver attached yet'); })();
  return { done, chunks, pty, session };
}

describe('shell.session', () => {
  it('opens a PTY of the asked size, says the size first, and returns exit code 0', async () => {
    const s = await openSession({ command: ['sh', '-c', 'stty size; echo "$TERM"'], cols: 91, rows: 33 });
    await expect(s.done).resolves.toMatchObject({ exitCode: 0, signal: null });
    expect(s.chunks[0]).toEqual({ stream: 'resize', data: '91x33' });
    expect(s.pty()).toContain('33 91\r\n');
    expect(s.pty()).toContain('xterm-256color');
  });

  it('takes typed input in seq order, ignores a repeated seq, and resizes', async () => {
    const s = await openSession({ command: ['sh', '-c', 'read a; read b; echo "got:$a:$b"; stty size'], cols: 80, rows: 24 });
    await waitFor('the receiver', () => s.chunks.length > 0);
    s.session().resize(120, 40);
    s.session().input(1, 'second\r');
    s.session().input(0, 'first\r');
    s.session().input(0, 'again\r');
    await expect(s.done).resolves.toMatchObject({ exitCode: 0 });
    expect(s.pty()).toContain('got:first:second');
    expect(s.pty()).not.toContain('again');
    expect(s.pty()).toContain('40 120');
    expect(s.chunks.filter((c) => c.stream === 'resize').map((c) => c.data)).toEqual(['80x24', '120x40']);
  });

  it('fails nonzero_exit with the exit code in the result, like exec.run', async () => {
    const s = await openSession({ command: ['sh', '-c', 'exit 3'], cols: 80, rows: 24 });
    const f = await failure(s.done);
    expect(f).toMatchObject({ code: 'nonzero_exit', state: 'failed', result: { exitCode: 3, signal: null } });
  });

  it('closes a session idle past its idle timeout and says so in the output', async () => {
    const s = await openSession({ command: ['sleep', '100'], cols: 80, rows: 24, idleTimeoutMs: 1000 });
    const f = await failure(s.done);
    expect(f).toMatchObject({ code: 'idle_timeout', result: { endedBy: 'idle', exitCode: null, signal: 'SIGHUP' } });
    expect(s.pty()).toContain('[steward: session closed after 1 s without input or output]');
  });

  it('caps the idle timeout by the node setting', async () => {
    const s = await openSession({ command: ['sleep', '100'], cols: 80, rows: 24, idleTimeoutMs: 600_000 }, { maxIdleTimeoutMs: 1000 });
    expect(await failure(s.done)).toMatchObject({ code: 'idle_timeout' });
  });

  it('hangs up every process of the terminal on abort, a job in its own group too', async () => {
    const ctl = new AbortController();
    // An interactive shell runs each job in a process group of its own.
    const s = await openSession({ command: ['sh', '-i'], cols: 80, rows: 24 }, {}, ctl.signal);
    await waitFor('the receiver', () => s.chunks.length > 0);
    s.session().input(0, 'sleep 100 & echo "bg:$!"\r');
    const pid = Number(await waitFor('the background pid', () => /bg:(\d+)/.exec(s.pty())?.[1]));
    ctl.abort();
    expect(await failure(s.done)).toMatchObject({ code: 'aborted' });
    await waitFor('the background sleep to end', () => processGone(pid));
  });

  it('refuses when the node turned shells off', async () => {
    const s = await openSession({ cols: 80, rows: 24 }, { enabled: false });
    expect(await failure(s.done)).toMatchObject({ code: 'shell_disabled' });
    expect(s.chunks).toEqual([]);
  });

  it('refuses a cwd that is not a directory', async () => {
    const s = await openSession({ cols: 80, rows: 24, cwd: '/nonexistent/dir' });
    expect(await failure(s.done)).toMatchObject({ code: 'bad_cwd' });
  });
});

describe('InputOrder', () => {
  it('applies in order, waits briefly for a gap, then gives it up', async () => {
    vi.useFakeTimers();
    try {
      const applied: string[] = [];
      const order = new InputOrder((d) => applied.push(d), 500);
      order.push(0, 'a');
      order.push(2, 'c');
      expect(applied).toEqual(['a']);
      order.push(1, 'b');
      expect(applied).toEqual(['a', 'b', 'c']);
      order.push(1, 'b-again');
      order.push(5, 'f');
      expect(applied).toEqual(['a', 'b', 'c']);
      vi.advanceTimersByTime(500);
      expect(applied).toEqual(['a', 'b', 'c', 'f']);
      order.push(4, 'late');
      order.push(6, 'g');
      expect(applied).toEqual(['a', 'b', 'c', 'f', 'g']);
    } finally {
      vi.useRealTimers();
    }
  });
});
