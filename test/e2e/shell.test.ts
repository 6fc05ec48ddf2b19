import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, StewardClient } from '@steward/client';
import { cliInTerminal } from '../support/cli-terminal.js';
import { addAgent, startServerProcess, STEWARD_BIN, type AgentProc, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/** Pids of processes whose command line is exactly `argv`. */
function pidsOf(argv: string[]): number[] {
  const want = argv.join('\0');
  const out: number[] = [];
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      if (readFileSync(`/proc/${n}/cmdline`, 'utf8').replace(/\0$/, '') === want) out.push(Number(n));
    } catch {
      // gone
    }
  }
  return out;
}

describe('steward shell: interactive terminals on nodes', { timeout: 180_000 }, () => {
  let server: ServerProc;
  let agent: AgentProc;
  let guarded: AgentProc;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    server = await startServerProcess();
    [agent, guarded] = await Promise.all([addAgent(server, 'n1'), addAgent(server, 'vault1')]);
    await server.client.patchNode('vault1', { labels: { zone: 'vault' } });
    await server.client.putApprovalPolicy('vault-shells', { commandTypes: ['shell.session'], selector: 'zone=vault', approvals: 1, ttlSeconds: 600 });
    env = { STEWARD_SERVER: server.url, STEWARD_TOKEN: server.token };
  }, 120_000);

  afterAll(async () => {
    await Promise.all([agent?.kill(), guarded?.kill()]);
    await server?.kill();
  });

  it('runs the login shell in raw mode: size, resize, typed input, Ctrl-C, exit code', async () => {
    const t = cliInTerminal(['shell', 'n1'], { cols: 100, rows: 30, env });
    t.type('stty size\r');
    let at = await t.expect(/30 100\r*\n/, 0, 60_000);
    t.pty.resize(120, 40);
    // The resize travels as its own request; the next stty may race it, so ask until it shows.
    await waitFor('the remote size to follow the resize', async () => {
      t.type('stty size\r');
      at = await t.expect(/40 120\r*\n/, at, 2000).catch(() => 0);
      return at > 0;
    }, { timeoutMs: 30_000, intervalMs: 10 });
    t.type('read x; echo got:$x\r');
    // Typed only once the line was taken (the echo of its end): typeahead that a shell's line
    // editor read in its own mode would reach `read` without its newline.
    at = await t.expect(/got:\$x\r*\n/, at);
    t.type('hello there\r');
    at = await t.expect('got:hello there', at);
    // Ctrl-C reaches the remote foreground job (raw mode: no local SIGINT), and the shell lives on.
    t.type('sleep 4242\r');
    await waitFor('the remote sleep to start', () => pidsOf(['sleep', '4242']).length > 0, { timeoutMs: 30_000 });
    t.type('\x03');
    await waitFor('Ctrl-C to end the remote sleep', () => pidsOf(['sleep', '4242']).length === 0);
    t.type('echo alive-$((6*7))\r');
    at = await t.expect('alive-42', at);
    t.type('exit 3\r');
    expect((await t.exited).exitCode).toBe(3);
    const sessions = (await server.client.listCommands({ type: 'shell.session', node: 'n1' })).items;
    expect(sessions[0]).toMatchObject({ state: 'failed', result: { exitCode: 3 }, error: { code: 'nonzero_exit' } });
  });

  it('runs a given program and two sessions on one node at once, each with its own input', async () => {
    const a = cliInTerminal(['shell', 'n1', '--', 'sh', '-c', 'read x; echo "A got:$x"'], { cols: 80, rows: 24, env });
    const b = cliInTerminal(['shell', 'n1', '--', 'sh', '-c', 'read x; echo "B got:$x"; exit 7'], { cols: 80, rows: 24, env });
    await waitFor('both sessions running', async () => {
      const running = (await server.client.listCommands({ type: 'shell.session', state: 'running' })).items;
      return running.length === 2;
    }, { timeoutMs: 60_000 });
    b.type('bee\r');
    a.type('ay\r');
    await a.expect('A got:ay');
    await b.expect('B got:bee');
    expect(a.output()).not.toContain('bee');
    expect((await a.exited).exitCode).toBe(0);
    expect((await b.exited).exitCode).toBe(7);
  });

  it('on SIGTERM restores the local terminal and closes the remote session', async () => {
    // A shell around the CLI shows the terminal's modes after the CLI is gone.
    const t = cliInTerminal([], { cols: 80, rows: 24, env, shell: `"${process.execPath}" "${STEWARD_BIN}" shell n1 -- sleep 4343; echo "cli-exit:$?"; stty -a` });
    await waitFor('the remote sleep to start', () => pidsOf(['sleep', '4343']).length > 0, { timeoutMs: 60_000 });
    // The remote sleep can be up before the control plane has stored the session's start (the
    // agent's `command.started` is stored in a batch): wait for it rather than read it once.
    const session = await waitFor('the session to be running', async () => (await server.client.listCommands({ type: 'shell.session', state: 'running' })).items[0]);
    const cli = await waitFor('the CLI process', () => pidsOf([process.execPath, STEWARD_BIN, 'shell', 'n1', '--', 'sleep', '4343'])[0]);
    // The CLI's terminal is in raw mode now (seen from outside, on the terminal device itself).
    const device = (t.pty as unknown as { _pty: string })._pty;
    await waitFor('raw mode on the CLI terminal', () => / -icanon /.test(execFileSync('stty', ['-a', '-F', device], { encoding: 'utf8' })));
    process.kill(cli, 'SIGTERM');
    const at = await t.expect('cli-exit:143');
    await t.expect(/ icanon /, at);
    expect(t.output().slice(at)).toMatch(/ echo /);
    expect(t.output().slice(at)).not.toMatch(/-icanon|-echo /);
    expect((await server.client.getCommand(session.id, { wait: 20 })).state).toBe('cancelled');
    await waitFor('the remote sleep to be hung up', () => pidsOf(['sleep', '4343']).length === 0);
  });

  it('reads piped standard input without a terminal', async () => {
    const child = spawn(process.execPath, [STEWARD_BIN, 'shell', 'n1'], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.stdin.end('echo piped-$((2*3))\n');
    const code = await waitFor(() => `the piped CLI to exit; it printed ${JSON.stringify(out)}`, () => child.exitCode !== null && { code: child.exitCode }, { timeoutMs: 60_000 });
    expect(out).toContain('piped-6');
    expect(code).toEqual({ code: 0 });
  });

  it('closes an idle session and says so', async () => {
    const t = cliInTerminal(['shell', 'n1', '--idle-timeout', '1s', '--', 'sleep', '100'], { cols: 80, rows: 24, env });
    await t.expect('session closed after 1 s without input or output', 0, 60_000);
    expect((await t.exited).exitCode).toBe(1);
    expect(t.output()).toContain('session failed');
  });

  it('refuses a reader (403) and creates nothing', async () => {
    const before = (await server.client.listCommands({ type: 'shell.session' })).items.length;
    const { token } = await server.client.createToken({ name: 'rita', role: 'reader' });
    const reader = new StewardClient({ baseUrl: server.url, token });
    await expect(reader.openShell('n1', { cols: 80, rows: 24 })).rejects.toMatchObject({ status: 403 });
    expect((await server.client.listCommands({ type: 'shell.session' })).items).toHaveLength(before);
  });

  it('answers input and resize for a session that ended with 409, for no command with 404', async () => {
    const ended = (await server.client.listCommands({ type: 'shell.session', node: 'n1' })).items[0]!;
    const e = await server.client.shellInput(ended.id, 0, 'x').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject({ status: 409, code: 'session_not_running' });
    await expect(server.client.shellResize(ended.id, 80, 24)).rejects.toMatchObject({ status: 409, code: 'session_not_running' });
    const other = (await server.client.submitCommand({ node: 'n1', type: 'sys.ping', payload: {} })).command;
    await expect(server.client.shellInput(other.id, 0, 'x')).rejects.toMatchObject({ status: 409, code: 'session_not_running' });
    await expect(server.client.shellInput('cmd_nope', 0, 'x')).rejects.toMatchObject({ status: 404 });
  });

  it('holds a session an approval policy covers until a second operator approves it', async () => {
    const alice = await server.client.createToken({ name: 'alice', role: 'operator' });
    const t = cliInTerminal(['shell', 'vault1', '--', 'sh', '-c', 'echo inside-$((40+2))'], { cols: 80, rows: 24, env: { ...env, STEWARD_TOKEN: alice.token } });
    await t.expect('awaiting approval by a second operator', 0, 60_000);
    const held = (await server.client.listCommands({ type: 'shell.session', node: 'vault1' })).items[0]!;
    expect(held.state).toBe('awaiting_approval');
    await server.client.approveCommand(held.id);
    await t.expect('inside-42');
    expect((await t.exited).exitCode).toBe(0);
  });

  it('withdraws a held session on Ctrl-C (the terminal is raw already)', async () => {
    const t = cliInTerminal(['shell', 'vault1'], { cols: 80, rows: 24, env });
    await t.expect('awaiting approval by a second operator', 0, 60_000);
    const held = (await server.client.listCommands({ type: 'shell.session', node: 'vault1' })).items[0]!;
    expect(held.state).toBe('awaiting_approval');
    t.type('\x03');
    expect((await t.exited).exitCode).toBe(130);
    expect((await server.client.getCommand(held.id)).state).toBe('cancelled');
    expect((await server.client.listApprovals({ state: 'awaiting' })).items.map((a) => a.id)).not.toContain(held.id);
  });

  it('writes opening a session to the audit log with its command, and no entry per keystroke', async () => {
    const sessions = (await server.client.listCommands({ type: 'shell.session', node: 'n1' })).items;
    const first = sessions.at(-1)!;
    const entries = await waitFor('the audit entry of the first session', async () => {
      const items = (await server.client.listAudit({ action: 'shell.open' })).items;
      return items.some((e) => e.target === first.id) && items;
    });
    expect(entries.length).toBeGreaterThanOrEqual(sessions.length);
    expect((await server.client.listAudit({ action: 'commands.input' })).items).toEqual([]);
    expect((await server.client.listAudit({ action: 'commands.resize' })).items).toEqual([]);
  });
});
