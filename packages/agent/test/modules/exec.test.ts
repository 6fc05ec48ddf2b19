import { realpathSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '@steward/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModules, type ModuleRegistry } from '../../src/modules/registry.js';
import { processGone, waitFor } from '../../../../test/support/wait.js';
import { failure, run, tempDir, testConfig, testContext, type Written } from './context.js';

let registry: ModuleRegistry;
beforeAll(async () => {
  registry = await loadModules(['exec']);
});

async function ctxWith(edit?: Parameters<typeof testConfig>[1], output?: Written, signal?: AbortSignal) {
  return testContext(testConfig(await tempDir(), edit), signal, { output });
}

describe('exec.run', () => {
  it('runs a program without a shell, passing args literally', async () => {
    const result = await run(registry, 'exec.run', { command: 'echo', args: ['$HOME', 'a;b', '`id`'] }, await ctxWith());
    expect(result).toMatchObject({ exitCode: 0, signal: null, stdout: '$HOME a;b `id`\n', stderr: '', truncated: false });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('keeps stdout and stderr of a non-zero exit in the failure result', async () => {
    const f = await failure(
      run(registry, 'exec.run', { command: 'sh', args: ['-c', 'echo out; echo err >&2; exit 3'] }, await ctxWith()),
    );
    expect(f.code).toBe('nonzero_exit');
    expect(f.message).toBe('exited with code 3');
    expect(f.state).toBe('failed');
    expect(f.result).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  it('runs shell mode with args as positional parameters', async () => {
    const result = await run(
      registry,
      'exec.run',
      { command: 'echo "$1|$2" | tr a-z A-Z', args: ['one', 'two words'], shell: true },
      await ctxWith(),
    );
    expect(result.stdout).toBe('ONE|TWO WORDS\n');
  });

  it('refuses shell mode when exec.allowShell is false, without running anything', async () => {
    const ctx = await ctxWith((c) => (c.exec.allowShell = false));
    const marker = join(ctx.config.dataDir, 'ran');
    const f = await failure(run(registry, 'exec.run', { command: `touch ${marker}`, shell: true }, ctx));
    expect(f.code).toBe('shell_not_allowed');
    await expect(access(marker)).rejects.toThrow();
  });

  it('applies cwd, env and stdin input, and hides the agent STEWARD_* variables', async () => {
    const ctx = await ctxWith();
    const dir = ctx.config.dataDir;
    process.env.STEWARD_ENROLL_TOKEN = 'secret-token';
    try {
      const result = await run(
        registry,
        'exec.run',
        {
          command: 'sh',
          args: ['-c', 'pwd -P; echo "$GREETING"; cat; echo; echo "token=${STEWARD_ENROLL_TOKEN:-none}"'],
          cwd: dir,
          env: { GREETING: 'hello there' },
          input: 'from stdin',
        },
        ctx,
      );
      expect(result.stdout).toBe(`${realpathSync(dir)}\nhello there\nfrom stdin\ntoken=none\n`);
    } finally {
      delete process.env.STEWARD_ENROLL_TOKEN;
    }
  });

  it('refuses a cwd that does not exist', async () => {
    const ctx = await ctxWith();
    const f = await failure(run(registry, 'exec.run', { command: 'true', cwd: join(ctx.config.dataDir, 'missing') }, ctx));
    expect(f.code).toBe('bad_cwd');
  });

  it('keeps the last maxOutputBytes of each stream in the result, streams all of it, and drains so the child finishes', async () => {
    const written: Written = [];
    const ctx = await ctxWith((c) => (c.exec.maxOutputBytes = 100), written);
    // 200 KB is more than a pipe buffer holds: the child would block if the agent stopped reading.
    const result = await run(
      registry,
      'exec.run',
      { command: 'sh', args: ['-c', 'yes | head -c 200000; echo last; printf short >&2'] },
      ctx,
    );
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe(`${'y\n'.repeat(200_000 / 2)}last\n`.slice(-100));
    expect(result.stderr).toBe('short');
    expect(result.truncated).toBe(true);
    const streamed = (s: string) => written.filter((w) => w.stream === s).map((w) => w.data).join('');
    expect(streamed('stdout')).toBe(`${'y\n'.repeat(200_000 / 2)}last\n`);
    expect(streamed('stderr')).toBe('short');
  });

  it('on its own timeout kills the whole process group and ends timed_out', async () => {
    const started = Date.now();
    const f = await failure(
      run(
        registry,
        'exec.run',
        { command: 'sh', args: ['-c', 'sleep 30 & echo $!; sleep 30 & echo $!; wait'], timeoutMs: 300 },
        await ctxWith(),
      ),
    );
    expect(f.code).toBe('timed_out');
    expect(f.state).toBe('timed_out');
    expect(Date.now() - started).toBeLessThan(5000);
    const result = f.result as { stdout: string; signal: string | null };
    expect(result.signal).toBe('SIGTERM');
    const pids = result.stdout.trim().split('\n').map(Number);
    expect(pids).toHaveLength(2);
    await waitFor('the process group to be gone', () => pids.every(processGone), { timeoutMs: 2000 });
  }, 10_000);

  it('escalates to SIGKILL when the group ignores SIGTERM', async () => {
    const started = Date.now();
    // An ignored signal stays ignored in the children the shell starts.
    const f = await failure(
      run(registry, 'exec.run', { command: 'sh', args: ['-c', "trap '' TERM; sleep 30"], timeoutMs: 100 }, await ctxWith()),
    );
    const elapsed = Date.now() - started;
    expect(f.code).toBe('timed_out');
    expect((f.result as { signal: string }).signal).toBe('SIGKILL');
    expect(elapsed).toBeGreaterThanOrEqual(2000);
    expect(elapsed).toBeLessThan(6000);
  }, 10_000);

  it('stops the process group when the command signal aborts', async () => {
    const controller = new AbortController();
    const ctx = await ctxWith(undefined, undefined, controller.signal);
    const pending = run(registry, 'exec.run', { command: 'sh', args: ['-c', 'echo $$; sleep 30'] }, ctx);
    setTimeout(() => controller.abort(new Error('cancelled')), 200);
    const started = Date.now();
    const f = await failure(pending);
    expect(f.code).toBe('aborted');
    expect(Date.now() - started).toBeLessThan(5000);
    const pid = Number((f.result as { stdout: string }).stdout.trim());
    await waitFor('the process to be gone', () => processGone(pid), { timeoutMs: 2000 });
  }, 10_000);

  it('does not start anything when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const ctx = await ctxWith(undefined, undefined, controller.signal);
    const marker = join(ctx.config.dataDir, 'ran');
    const f = await failure(run(registry, 'exec.run', { command: 'touch', args: [marker] }, ctx));
    expect(f.code).toBe('aborted');
    await expect(access(marker)).rejects.toThrow();
  });

  it('reports a program that does not exist as spawn_failed', async () => {
    const f = await failure(run(registry, 'exec.run', { command: 'steward-no-such-program-xyz' }, await ctxWith()));
    expect(f.code).toBe('spawn_failed');
    expect(f.message).toContain('ENOENT');
  });

  it('validates the payload, naming the field', () => {
    expect(() => registry.validatePayload('exec.run', { command: 'ls', bogus: 1 })).toThrow(/bogus/);
    expect(() => registry.validatePayload('exec.run', { command: 'ls', timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => registry.validatePayload('exec.run', { command: 'ls', cwd: 'relative' })).toThrow(/cwd/);
    expect(() => registry.validatePayload('exec.run', { command: 'ls', env: { 'BAD-NAME': 'x' } })).toThrow(ValidationError);
    expect(() => registry.validatePayload('exec.run', { command: '' })).toThrow(/command/);
  });

  it('is not safe to re-run', () => {
    expect(registry.get('exec.run')?.safeToRerun).toBe(false);
  });
});
