import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StewardClient } from '@steward/client';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, REPO } from '../../../test/support/processes.js';
import { BIN, cleanEnv, killGroup, runCli } from './helpers/cli.js';
import { waitFor } from '../../../test/support/wait.js';

/** Every process below `root` (Linux `ps`), with its command line. */
function descendants(root: number): { pid: number; args: string }[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }));
  const found: { pid: number; args: string }[] = [];
  const walk = (pid: number) => {
    for (const r of rows.filter((r) => r.ppid === pid)) {
      found.push({ pid: r.pid, args: r.args });
      walk(r.pid);
    }
  };
  walk(root);
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

describe('steward up: stopping reaches the whole process tree', { timeout: 120_000 }, () => {
  const started: ChildProcess[] = [];
  const strays: number[] = [];
  const dirs: string[] = [];

  afterEach(() => {
    for (const c of started) killGroup(c, 'SIGKILL');
    for (const pid of strays) if (alive(pid)) process.kill(pid, 'SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /**
   * Starts `cmd args… <up flags>` in its own process group and waits until the local agent is
   * online; `wrap` turns the whole command line into another (e.g. run under a terminal).
   */
  async function startUp(cmd: string, args: string[], o: { logLevel?: string; wrap?: (argv: string[]) => [string, string[]] } = {}) {
    const home = mkdtempSync(join(tmpdir(), 'steward-up-'));
    dirs.push(home);
    const dataDir = join(home, 'data');
    const port = await freePort();
    const argv = [cmd, ...args, '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--log-level', o.logLevel ?? 'warn'];
    const [file, fileArgs] = o.wrap ? o.wrap(argv) : [argv[0]!, argv.slice(1)];
    const child = spawn(file, fileArgs, {
      cwd: REPO,
      env: cleanEnv({ HOME: home }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    started.push(child);
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    await waitFor('Steward is up', () => (out.includes('Steward is up') ? true : undefined), { timeoutMs: 60_000 });
    const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
    const client = new StewardClient({ baseUrl: `http://127.0.0.1:${port}`, token });
    await waitFor('the local agent online', async () => ((await client.listNodes({ status: 'online' })).items.length === 1 ? true : undefined), { timeoutMs: 60_000 });
    const tree = descendants(child.pid!);
    strays.push(...tree.map((p) => p.pid));
    return { child, port, tree, client, token, home, output: () => out };
  }

  it('SIGTERM to npm (npm start) stops steward up and its agent and frees the port', async () => {
    const { child, port, tree, output } = await startUp('npm', ['start', '--']);
    expect(tree.some((p) => / up --listen/.test(p.args))).toBe(true);
    expect(tree.some((p) => / agent --server/.test(p.args))).toBe(true);
    expect(await portFree(port)).toBe(false);

    process.kill(child.pid!, 'SIGTERM');
    await waitFor('every process of the tree to end', () => (tree.every((p) => !alive(p.pid)) ? true : undefined), { timeoutMs: 30_000 });
    expect(await portFree(port)).toBe(true);
    expect(output()).not.toContain('shutdown took too long');
  });

  it('the local agent stops by itself when steward up is killed outright', async () => {
    const { child, tree } = await startUp(process.execPath, [BIN, 'up']);
    const agent = tree.find((p) => / agent --server/.test(p.args));
    expect(agent).toBeDefined();
    process.kill(child.pid!, 'SIGKILL');
    await waitFor('the orphaned agent to end', () => (!alive(agent!.pid) ? true : undefined), { timeoutMs: 20_000 });
  });

  it('on a terminal, logs are readable lines, not JSON (util-linux script gives it a terminal)', async () => {
    const inTerminal = (argv: string[]): [string, string[]] => ['script', ['-qfec', argv.map((a) => `'${a}'`).join(' '), '/dev/null']];
    const up = await startUp(process.execPath, [BIN, 'up'], { logLevel: 'info', wrap: inTerminal });
    // eslint-disable-next-line no-control-regex
    const output = () => up.output().replace(/\u001b\[[0-9;]*m/g, '');
    expect(up.output()).toContain('\u001b[32mINFO');
    await waitFor('the agent connected line', () => (/\[agent\] \d\d:\d\d:\d\d INFO +connected to the control plane/.test(output()) ? true : undefined), { timeoutMs: 30_000 });
    expect(output()).toMatch(/^\d\d:\d\d:\d\d INFO +control plane listening url=http:\/\/127\.0\.0\.1:\d+/m);
    expect(output()).not.toContain('{"level"');
  });

  it('--agent-config configures the local agent, which says where its roots are; the backups example works on it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'steward-up-roots-'));
    dirs.push(root);
    mkdirSync(join(root, 'site'));
    writeFileSync(join(root, 'site', 'index.html'), '<h1>hi</h1>\n');
    const file = join(root, 'agent.yaml');
    writeFileSync(file, `fs:\n  roots: [${JSON.stringify(root)}]\nlabels: { role: web }\n`);
    const up = await startUp(process.execPath, [BIN, 'up', '--agent-config', file]);
    expect(up.output()).toContain(`local agent file roots: ${root} (from ${file})`);
    const node = (await up.client.listNodes({})).items[0]!;
    expect(node.labels).toMatchObject({ local: 'true', role: 'web' });
    const env = cleanEnv({ HOME: up.home, STEWARD_SERVER: `http://127.0.0.1:${up.port}`, STEWARD_TOKEN: up.token });
    const r = await runCli(['backups', 'run', '--node', node.name, '--source', join(root, 'site')], { env, timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^backup_\S+\s+1 files/);
  });

  it('without --agent-config it says where the default roots are and how to change them; a bad file stops it before it starts', async () => {
    const up = await startUp(process.execPath, [BIN, 'up']);
    expect(up.output()).toMatch(/local agent file roots: \S+\/local-agent\/files \(set fs\.roots in a file given with --agent-config\)/);
    const bad = join(up.home, 'bad.yaml');
    writeFileSync(bad, 'fs:\n  roots: nope\n');
    const r = await runCli(['up', '--agent-config', bad, '--listen', '127.0.0.1:0', '--data-dir', join(up.home, 'other')], { env: cleanEnv({ HOME: up.home }) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('fs.roots');
  });
});
