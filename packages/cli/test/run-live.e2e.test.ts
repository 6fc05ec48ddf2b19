import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { Command } from '@steward/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAgent, startServerProcess, type AgentProc, type ServerProc } from '../../../test/support/processes.js';
import { waitFor } from '../../../test/support/wait.js';
import { BIN, cleanEnv, killGroup, runCli } from './helpers/cli.js';

const execFileP = promisify(execFile);
const SLOW = 'for i in 1 2 3; do echo line$i; sleep 0.4; done';
const RULE = '-'.repeat(16);
const ESC = '\u001b';

interface Recorded {
  /** Each stdout line with the time it reached this process. */
  lines: { text: string; at: number }[];
  stdout: string;
  stderr: string;
  code: number | null;
}

/** `steward run` with the two nodes of the test, stdout lines timed as they arrive. */
describe('steward run prints output as it happens', { timeout: 120_000 }, () => {
  let server: ServerProc;
  const agents: AgentProc[] = [];
  const env = (extra: Record<string, string> = {}) => cleanEnv({ STEWARD_SERVER: server.url, STEWARD_TOKEN: server.token, ...extra });
  const TWO = ['--node', 'n1', '--node', 'node-long-name'];

  beforeAll(async () => {
    server = await startServerProcess();
    agents.push(await addAgent(server, 'n1'), await addAgent(server, 'node-long-name'));
  }, 90_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.kill()));
    await server?.kill();
  });

  /** Starts the CLI; `onLine` sees each stdout line as it arrives. */
  const start = (args: string[], onLine: (text: string) => void = () => undefined) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: env(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const rec: Recorded = { lines: [], stdout: '', stderr: '', code: null };
    let partial = '';
    child.stdout.on('data', (b: Buffer) => {
      const at = Date.now();
      rec.stdout += b.toString();
      const parts = (partial + b.toString()).split('\n');
      partial = parts.pop()!;
      for (const text of parts) {
        rec.lines.push({ text, at });
        onLine(text);
      }
    });
    child.stderr.on('data', (b: Buffer) => (rec.stderr += b.toString()));
    const exited = new Promise<Recorded>((resolve) => child.on('close', (code) => resolve({ ...rec, code })));
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 90_000);
    void exited.then(() => clearTimeout(timer));
    return { child, rec, exited };
  };

  const jobCommands = async (jobId: string) => (await server.client.getJob(jobId)).commands;
  const jobOf = (r: { stdout: string }) => /\(job (job_\w+)/.exec(r.stdout)?.[1];

  it('lines of a slow command reach stdout in order, each before the command ended, prefixed and aligned, no escapes when piped', async () => {
    const r = await start(['run', ...TWO, '--shell', '--', SLOW]).exited;
    expect(r.code).toBe(0);
    const commands = await jobCommands(jobOf(r)!);
    for (const [name, pad] of [['n1', 'n1            '], ['node-long-name', 'node-long-name']] as const) {
      const mine = r.lines.filter((l) => l.text.startsWith(`${pad} | `));
      expect(mine.map((l) => l.text)).toEqual([1, 2, 3].map((i) => `${pad} | line${i}`));
      const node = await server.client.getNode(name);
      const finishedAt = commands.find((c) => c.nodeId === node.id)!.finishedAt!;
      for (const l of mine) expect(l.at).toBeLessThan(finishedAt);
      // The end line comes after the node's last line.
      const endAt = r.lines.findIndex((l) => l.text.startsWith(`[${name}] succeeded exit=0`));
      expect(endAt).toBeGreaterThan(r.lines.indexOf(mine[2]!));
    }
    expect(r.lines.at(-1)!.text).toMatch(/^2 nodes: 2 succeeded \(job job_\w+, /);
    expect(r.stdout + r.stderr).not.toContain(ESC);
  });

  it('a command without output still shows its end; stderr lines go to stderr marked with !', async () => {
    const r = await runCli(['run', ...TWO, '--shell', '--', 'echo oops >&2; exit 4'], { env: env(), timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^n1             ! oops$/m);
    expect(r.stderr).toMatch(/^node-long-name ! oops$/m);
    expect(r.stdout).toMatch(/^\[n1\] failed exit=4/m);
    const quiet = await runCli(['run', '--node', 'n1', '--', 'true'], { env: env(), timeoutMs: 60_000 });
    expect(quiet.stdout).toMatch(/^\[n1\] succeeded exit=0.*\n1 node: 1 succeeded/m);
  });

  it('--group prints one contiguous block per node, when that node ends', async () => {
    const r = await runCli(['run', ...TWO, '--group', '--shell', '--', SLOW], { env: env(), timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    const blocks = r.stdout.split(`${RULE}\n[`).slice(1);
    expect(blocks).toHaveLength(2);
    for (const b of blocks) expect(b).toMatch(/^(n1|node-long-name)\] succeeded exit=0 [^\n]*\n-{16}\nline1\nline2\nline3\n/);
    expect(blocks.map((b) => b.slice(0, b.indexOf(']'))).sort()).toEqual(['n1', 'node-long-name']);
  });

  it('--json prints a JSON object per line: output lines in order, each end, then the summary', async () => {
    const r = await runCli(['run', ...TWO, '--json', '--shell', '--', SLOW], { env: env(), timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    const events = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const node of ['n1', 'node-long-name']) {
      const mine = events.filter((e) => e.node === node);
      expect(mine.map((e) => (e.event === 'output' ? e.data : e.event))).toEqual(['line1', 'line2', 'line3', 'end']);
      expect(mine.at(-1)).toMatchObject({ state: 'succeeded', exitCode: 0 });
    }
    expect(events.at(-1)).toMatchObject({ event: 'done', job: { state: 'succeeded', total: 2 } });
  });

  it('on a terminal: names in colour and a live n/N summary; NO_COLOR turns the colour off', async () => {
    const inTerminal = async (extra: Record<string, string> = {}) =>
      (await execFileP('script', ['-qfec', [process.execPath, BIN, 'run', ...TWO, '--shell', '--', SLOW].map((a) => `'${a}'`).join(' '), '/dev/null'], { env: env(extra), timeout: 60_000 })).stdout;
    const shown = await inTerminal();
    expect(shown).toMatch(new RegExp(`${ESC}\\[\\d+mnode-long-name${ESC}\\[0m \\| line1`));
    expect(shown).toMatch(/\d\/2 done/);
    const plain = await inTerminal({ NO_COLOR: '1' });
    // A line may start right after the summary line was erased (`\r` ESC[K).
    expect(plain).toMatch(new RegExp(`(^|${ESC}\\[K)node-long-name \\| line1\\r?$`, 'm'));
    expect(plain).not.toMatch(new RegExp(`${ESC}\\[\\d+m`));
  });

  it('a first Ctrl-C detaches: prints the job id and how to cancel, exits 130, and the command runs to its end', async () => {
    // Ends after the CLI left (which waits 3 s for a second Ctrl-C, still printing).
    const cli = start(['run', '--node', 'n1', '--shell', '--', 'echo started; sleep 5; echo finished'], (text) => {
      if (text === 'started') killGroup(cli.child, 'SIGINT');
    });
    const r = await cli.exited;
    expect(r.code).toBe(130);
    const jobId = /job (job_\w+) goes on running\. To cancel it: steward jobs cancel (job_\w+)/.exec(r.stderr);
    expect(jobId?.[1]).toBe(jobId?.[2]);
    expect(r.stdout).not.toContain('finished');
    const ended = await waitFor('the command to end on its own', async () => {
      const [c] = await jobCommands(jobId![1]!);
      return c && c.state !== 'running' && c.state !== 'dispatched' ? c : undefined;
    }, { timeoutMs: 30_000 });
    expect(ended).toMatchObject({ state: 'succeeded', result: { exitCode: 0, stdout: 'started\nfinished\n' } });
  });

  it('a second Ctrl-C within 3 s cancels the command and waits for its end', async () => {
    let interrupted = false;
    const cli = start(['run', '--node', 'n1', '--shell', '--', 'echo started; sleep 30'], (text) => {
      if (text !== 'started' || interrupted) return;
      interrupted = true;
      killGroup(cli.child, 'SIGINT');
    });
    await waitFor('the first interrupt message', () => cli.rec.stderr.includes('Ctrl-C again'));
    killGroup(cli.child, 'SIGINT');
    const r = await cli.exited;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/cancelling job job_\w+/);
    expect(r.stdout).toMatch(/^\[n1\] cancelled/m);
    const jobId = /cancelling job (job_\w+)/.exec(r.stderr)![1]!;
    expect(((await jobCommands(jobId))[0] as Command).state).toBe('cancelled');
  });
});
