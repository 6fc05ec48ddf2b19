import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StewardClient } from '@steward/client';
import type { Command, Node } from '@steward/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import { cleanEnv, runCli, startCli, type Background } from './helpers/cli.js';


function readUrl(dataDir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dataDir, 'endpoint.json'), 'utf8')) as { url?: string }).url;
  } catch {
    return undefined;
  }
}

/** Processes still running whose command line mentions `text` (Linux `ps`). */
function processesMentioning(text: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(text) && !l.includes('ps -eo'));
}

describe('steward end to end (server + agents as child processes)', () => {
  let root: string;
  let serverDir: string;
  let server: Background;
  const agents: Background[] = [];
  let url: string;
  let env: NodeJS.ProcessEnv;
  let client: StewardClient;
  const cli = (args: string[], timeoutMs = 60_000) => runCli(args, { env, timeoutMs });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'steward-e2e-'));
    serverDir = join(root, 'server');
    server = startCli(['server', '--listen', '127.0.0.1:0', '--data-dir', serverDir, '--log-level', 'warn'], cleanEnv());
    url = await waitFor('the server to write endpoint.json', () => readUrl(serverDir), { timeoutMs: 30_000 });
    // Operator commands find this server the way they find a local one: through its data dir.
    env = cleanEnv({ STEWARD_DATA_DIR: serverDir });
    client = new StewardClient({ baseUrl: url, token: readFileSync(join(serverDir, 'admin.token'), 'utf8').trim() });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  }, 60_000);

  it('says where it listens and that the admin token was just created', async () => {
    await waitFor('the startup lines', () => server.output().includes('admin token'), { timeoutMs: 20_000 });
    expect(server.output()).toContain(`listening on ${url}`);
    expect(server.output()).toMatch(/admin token: .*admin\.token \(just created/);
  });

  it('a malformed or wrong token is told the token is not recognised', async () => {
    const admin = readFileSync(join(serverDir, 'admin.token'), 'utf8').trim();
    for (const token of ['not-a-token', `${admin.slice(0, -3)}xyz`]) {
      const r = await runCli(['nodes', 'ls'], { env: cleanEnv({ STEWARD_SERVER: url, STEWARD_TOKEN: token }) });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('token not recognised');
    }
  });

  it('enroll create --json gives a token and the agent line; two agents enroll and show online', async () => {
    const r = await cli(['enroll', 'create', '--json', '--uses', '2', '--ttl', '10m', '--label', 'env=e2e', '--note', 'e2e']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const created = JSON.parse(r.stdout) as { token: string; usesAllowed: number; labels: Record<string, string>; agentCommand: string; installCommand: string };
    expect(created.usesAllowed).toBe(2);
    expect(created.labels).toEqual({ env: 'e2e' });
    expect(created.agentCommand).toBe(`steward agent --server ${url} --enroll-token ${created.token} --label env=e2e`);
    expect(created.installCommand).toBe(`curl -fsSL ${url}/install.sh | sudo sh -s -- --token ${created.token} --label env=e2e`);

    for (const name of ['e2e-a', 'e2e-b']) {
      agents.push(
        startCli(
          ['agent', '--server', url, '--enroll-token', created.token, '--name', name, '--data-dir', join(root, name), '--log-level', 'warn'],
          cleanEnv(),
        ),
      );
    }
    await waitFor(
      'both agents online',
      async () => {
        const { items } = await client.listNodes({ status: 'online' });
        return items.length === 2;
      },
      { timeoutMs: 30_000 },
    );

    const ls = await cli(['nodes', 'ls', '--json']);
    expect(ls.code).toBe(0);
    const nodes = JSON.parse(ls.stdout) as Node[];
    expect(nodes.map((n) => [n.name, n.status, n.labels.env]).sort()).toEqual([
      ['e2e-a', 'online', 'e2e'],
      ['e2e-b', 'online', 'e2e'],
    ]);
    for (const a of agents) expect(existsSync(join(root, a === agents[0] ? 'e2e-a' : 'e2e-b', 'identity.json'))).toBe(true);
  }, 60_000);

  it('nodes ls prints a table with how long ago each node was seen', async () => {
    const r = await cli(['nodes', 'ls']);
    expect(r.code).toBe(0);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+NAME\s+STATUS\s+PROTOCOL\s+LABELS\s+OS\/ARCH\s+CPU\s+MEM\s+LAST SEEN$/);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatch(/online\s+steward\s+env=e2e\s+\S+\/\S+\s+\d+\s+\S+\s+(just now|\d+s ago)$/);
  });

  it('run --node N -- echo hi prints hi and exits 0', async () => {
    const r = await cli(['run', '--node', 'e2e-a', '--', 'echo', 'hi']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\[e2e-a\] succeeded exit=0/m);
    expect(r.stdout).toMatch(/^hi$/m);
    expect(r.stdout).toMatch(/^1 node: 1 succeeded \(job job_/m);
  }, 60_000);

  it('run --json prints JSON lines: each output line, each node end, then the summary with every result', async () => {
    const r = await cli(['run', '--all', '--json', '--shell', '--', 'echo', 'from', '$0']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.event === 'output').map((l) => [l.node, l.stream, l.data]).sort()).toEqual([
      ['e2e-a', 'stdout', 'from sh'],
      ['e2e-b', 'stdout', 'from sh'],
    ]);
    expect(lines.filter((l) => l.event === 'end').map((l) => [l.node, l.state, l.exitCode]).sort()).toEqual([
      ['e2e-a', 'succeeded', 0],
      ['e2e-b', 'succeeded', 0],
    ]);
    const doc = lines.at(-1) as { event: string; job: { state: string; total: number }; results: { node: string; state: string; exitCode: number; stdout: string; error: unknown }[] };
    expect(doc.event).toBe('done');
    expect(doc.job).toMatchObject({ state: 'succeeded', total: 2 });
    expect(doc.results.map((x) => [x.node, x.state, x.exitCode, x.stdout, x.error]).sort()).toEqual([
      ['e2e-a', 'succeeded', 0, 'from sh\n', null],
      ['e2e-b', 'succeeded', 0, 'from sh\n', null],
    ]);
  }, 60_000);

  it("run --all -- sh -c 'exit 3' reports each failure and exits 1", async () => {
    const r = await cli(['run', '--all', '--', 'sh', '-c', 'echo out-$$; echo oops >&2; exit 3']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^\[e2e-a\] failed exit=3/m);
    expect(r.stdout).toMatch(/^\[e2e-b\] failed exit=3/m);
    expect(r.stdout).toMatch(/^2 nodes: 2 failed/m);
    expect(r.stdout).toMatch(/^e2e-a \| out-\d+$/m);
    expect(r.stdout).toMatch(/^e2e-b \| out-\d+$/m);
    expect(r.stderr).toMatch(/^e2e-a ! oops$/m);
    expect(r.stderr).toMatch(/^e2e-b ! oops$/m);
  }, 60_000);

  it('run with a selector that matches nothing says so and exits 1', async () => {
    const r = await cli(['run', '--selector', 'env=nowhere', '--', 'true']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no nodes matched');
  });

  it('run --timeout ends a command that runs too long', async () => {
    const started = Date.now();
    const r = await cli(['run', '--node', 'e2e-a', '--timeout', '1s', '--', 'sleep', '20']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^\[e2e-a\] timed_out/m);
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);

  it('nodes label sets k=v and removes k-', async () => {
    const set = await cli(['nodes', 'label', 'e2e-a', 'role=web', 'tier=1']);
    expect(set.code).toBe(0);
    expect(set.stdout).toContain('role=web');
    const removed = await cli(['nodes', 'label', 'e2e-a', 'tier-', '--json']);
    expect(removed.code).toBe(0);
    expect((JSON.parse(removed.stdout) as Node).labels).toEqual({ env: 'e2e', role: 'web' });
    const show = await cli(['nodes', 'show', 'e2e-a', '--json']);
    expect((JSON.parse(show.stdout) as Node).labels).toEqual({ env: 'e2e', role: 'web' });
    const run = await cli(['run', '--selector', 'role=web', '--json', '--', 'true']);
    expect((JSON.parse(run.stdout.trimEnd().split('\n').at(-1)!) as { results: { node: string }[] }).results.map((x) => x.node)).toEqual(['e2e-a']);
  }, 60_000);

  it('nodes rename renames, and a taken name is refused', async () => {
    expect((await cli(['nodes', 'rename', 'e2e-a', 'e2e-a2'])).code).toBe(0);
    expect((await cli(['nodes', 'show', 'e2e-a2', '--json'])).code).toBe(0);
    const taken = await cli(['nodes', 'rename', 'e2e-a2', 'e2e-b']);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/^error: /);
    expect((await cli(['nodes', 'rename', 'e2e-a2', 'e2e-a'])).code).toBe(0);
  }, 30_000);

  it('commands submit with the same --request-id twice returns the same command', async () => {
    const args = ['commands', 'submit', '--node', 'e2e-a', '--type', 'exec.run', '--payload', '{"command":"echo","args":["once"]}', '--request-id', 'e2e-req-1'];
    const first = await cli([...args, '--json']);
    expect(first.code).toBe(0);
    const a = JSON.parse(first.stdout) as Command;
    const second = await cli([...args, '--wait', '10s', '--json']);
    expect(second.code).toBe(0);
    const b = JSON.parse(second.stdout) as Command;
    expect(b.id).toBe(a.id);
    expect(b.state).toBe('succeeded');
    expect(b.result).toMatchObject({ exitCode: 0, stdout: 'once\n' });

    const human = await cli(args);
    expect(human.stdout).toContain(`already submitted as ${a.id}`);
    const conflict = await cli(['commands', 'submit', '--node', 'e2e-a', '--type', 'exec.run', '--payload', '{"command":"echo","args":["other"]}', '--request-id', 'e2e-req-1']);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/^error: /);

    const shown = await cli(['commands', 'show', a.id]);
    expect(shown.stdout).toMatch(/state:\s+succeeded/);
    const listed = await cli(['commands', 'ls', '--node', 'e2e-a', '--json']);
    expect((JSON.parse(listed.stdout) as Command[]).some((c) => c.id === a.id)).toBe(true);
  }, 60_000);

  it('tokens create makes a reader token that may read but not change', async () => {
    const made = await cli(['tokens', 'create', 'dashboards', '--role', 'reader', '--json']);
    expect(made.code).toBe(0);
    const { token, id } = JSON.parse(made.stdout) as { token: string; id: string };
    const asReader = (args: string[]) => runCli(['--token', token, ...args], { env, timeoutMs: 60_000 });
    expect((await asReader(['nodes', 'ls', '--json'])).code).toBe(0);
    const denied = await asReader(['run', '--all', '--', 'true']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('may only read');
    expect((await cli(['tokens', 'ls'])).stdout).toContain('dashboards');
    expect((await cli(['tokens', 'create', 'x', '--role', 'root'])).code).toBe(2);
    expect((await cli(['tokens', 'rm', id])).code).toBe(0);
  }, 60_000);

  it('jobs ls and jobs show list the jobs run so far', async () => {
    const ls = await cli(['jobs', 'ls', '--json']);
    const jobs = JSON.parse(ls.stdout) as { id: string }[];
    expect(jobs.length).toBeGreaterThanOrEqual(4);
    const show = await cli(['jobs', 'show', jobs[0]!.id]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^COMMAND\s+NODE\s+STATE\s+EXIT/m);
  });

  it('events follows the stream and stops cleanly on SIGTERM', async () => {
    const ev = startCli(['events', '--json', '--kinds', 'node.changed'], env);
    try {
      // Each label change is an event; keep making them until the follower has shown one.
      await waitFor(
        'an event line',
        async () => {
          await client.patchNode('e2e-b', { labels: { poke: String(Date.now()) } });
          return ev.output().includes('"kind":"node.changed"');
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      const line = ev.output().split('\n').find((l) => l.includes('node.changed'))!;
      expect(JSON.parse(line)).toMatchObject({ kind: 'node.changed', name: 'e2e-b', change: 'updated' });
    } finally {
      expect(await ev.stop()).toBe(0);
    }
  }, 45_000);

  it('nodes rm refuses a node with unfinished work, and --force deletes it', async () => {
    const submitted = await cli(['commands', 'submit', '--node', 'e2e-b', '--type', 'exec.run', '--payload', '{"command":"sleep","args":["30"]}', '--json']);
    expect(submitted.code).toBe(0);
    const refused = await cli(['nodes', 'rm', 'e2e-b']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: .*unfinished.*--force/);
    expect((await cli(['nodes', 'show', 'e2e-b'])).code).toBe(0);

    const forced = await cli(['nodes', 'rm', 'e2e-b', '--force']);
    expect(forced.code).toBe(0);
    const gone = await cli(['nodes', 'show', 'e2e-b']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^error: /);
    const cmd = JSON.parse((await cli(['commands', 'show', (JSON.parse(submitted.stdout) as Command).id, '--json'])).stdout) as Command;
    expect(cmd.state).toBe('cancelled');
  }, 60_000);

  it('agents and the server stop on SIGTERM with exit 0', async () => {
    const a = agents.shift()!;
    expect(await a.stop(15_000)).toBe(0);
    expect(await server.stop(15_000)).toBe(0);
  }, 40_000);
});

describe('steward up', () => {
  let root: string;
  let up: Background | undefined;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'steward-up-'));
  });

  afterAll(async () => {
    await up?.stop();
    for (const line of processesMentioning(root)) {
      const pid = Number(line.trim().split(/\s+/)[0]);
      if (pid) process.kill(pid, 'SIGKILL');
    }
    rmSync(root, { recursive: true, force: true });
  }, 30_000);

  it('starts a server and one local agent, restarts the agent when it dies, and stops both on SIGTERM', async () => {
    const dataDir = join(root, 'srv');
    up = startCli(['up', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--log-level', 'warn'], cleanEnv());
    const url = await waitFor('endpoint.json', () => readUrl(dataDir), { timeoutMs: 30_000 });
    const client = new StewardClient({ baseUrl: url, token: readFileSync(join(dataDir, 'admin.token'), 'utf8').trim() });
    const node = await waitFor(
      'the local agent online',
      async () => (await client.listNodes({ status: 'online' })).items[0],
      { timeoutMs: 30_000 },
    );
    expect(node.labels).toEqual({ local: 'true' });
    expect(existsSync(join(dataDir, 'local-agent', 'identity.json'))).toBe(true);
    await waitFor('the banner', () => up!.output().includes('try: '), { timeoutMs: 20_000 });
    expect(up.output()).toContain(`API ${url}`);
    expect(up.output()).toMatch(/try: STEWARD_DATA_DIR=\S+ npx steward nodes ls/);

    const agentLine = () => processesMentioning(join(dataDir, 'local-agent')).find((l) => l.includes(' agent '));
    const firstPid = Number(agentLine()!.trim().split(/\s+/)[0]);
    process.kill(firstPid, 'SIGKILL');
    const secondPid = await waitFor(
      'the agent to be restarted',
      () => {
        const line = agentLine();
        const pid = line ? Number(line.trim().split(/\s+/)[0]) : undefined;
        return pid && pid !== firstPid ? pid : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    expect(secondPid).not.toBe(firstPid);
    // The same identity comes back: no second node.
    await waitFor('the node online again', async () => (await client.getNode(node.id)).connected, { timeoutMs: 20_000 });
    expect((await client.listNodes()).items).toHaveLength(1);

    expect(await up.stop(20_000)).toBe(0);
    expect(agentLine()).toBeUndefined();
  }, 90_000);
});
