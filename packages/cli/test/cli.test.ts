import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from './helpers/cli.js';

/** Records which tokens reached it, to prove that a bad argument is refused before anything is sent. */
let recorder: Server;
let recorderUrl: string;
const tokensSeen = new Set<string>();
let emptyDir: string;

beforeAll(async () => {
  recorder = createServer((req, res) => {
    tokensSeen.add(req.headers.authorization ?? '');
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'internal', message: 'recorder' } }));
  });
  await new Promise<void>((r) => recorder.listen(0, '127.0.0.1', r));
  recorderUrl = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
  emptyDir = mkdtempSync(join(tmpdir(), 'steward-cli-'));
});

afterAll(async () => {
  await new Promise<void>((r) => recorder.close(() => r()));
  rmSync(emptyDir, { recursive: true, force: true });
});

const env = (token = 't') => cleanEnv({ STEWARD_SERVER: recorderUrl, STEWARD_TOKEN: token, STEWARD_DATA_DIR: emptyDir });

describe.concurrent('steward --help', () => {
  it('shows durations with their units, defaults included', { timeout: 90_000 }, async () => {
    for (const [args, flag, dflt] of [
      [['run', '--help'], '--timeout', '30s'],
      [['enroll', 'create', '--help'], '--ttl', '1h'],
      [['backups', 'run', '--help'], '--timeout', '10m'],
    ] as const) {
      const r = await runCli([...args]);
      expect(r.code).toBe(0);
      const help = r.stdout.replace(/\s+/g, ' ');
      expect(help).toContain(`${flag} <duration>`);
      expect(help).toContain('(500ms, 30s, 5m, 1h…)');
      expect(help).toContain(`(default: ${dflt})`);
      expect(help).not.toMatch(/default: \d{4,}/);
    }
  });

  it('lists every subcommand', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const name of ['server', 'agent', 'up', 'enroll', 'nodes', 'run', 'commands', 'jobs', 'events']) {
      expect(r.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    }
  });

  it.each([
    ['enroll', ['create', 'ls', 'rm']],
    ['nodes', ['ls', 'show', 'label', 'rename', 'rm']],
    ['commands', ['ls', 'show', 'submit', 'cancel']],
    ['jobs', ['ls', 'show']],
  ])('lists the %s subcommands', async (group, subs) => {
    const r = await runCli([group, '--help']);
    expect(r.code).toBe(0);
    for (const sub of subs) expect(r.stdout).toMatch(new RegExp(`^  ${sub}\\b`, 'm'));
  });

  it.each([
    ['server', ['--listen', '--data-dir', '--db', '--log-level', '--admit-cidr', '--retire-cluster-listen']],
    ['agent', ['--server', '--enroll-token', '--name', '--label', '--data-dir', '--config', '--modules', '--log-level', '--check-config']],
    ['up', ['--listen', '--data-dir', '--retire-cluster-listen']],
    ['run', ['--node', '--selector', '--all', '--timeout', '--batch', '--shell', '--json', '--server', '--token']],
    ['events', ['--kinds', '--json']],
  ])('documents the options of %s', async (name, options) => {
    const r = await runCli([name, '--help']);
    expect(r.code).toBe(0);
    for (const o of options) expect(r.stdout).toContain(o);
  });
});

describe.concurrent('agent --check-config', () => {
  it('prints the resolved configuration as YAML with the enrollment token masked', async () => {
    const r = await runCli(
      ['agent', '--check-config', '--server', 'http://cp.example:7070/', '--enroll-token', 'enr_secret', '--label', 'env=prod', '--data-dir', emptyDir],
      { env: cleanEnv() },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('server: http://cp.example:7070\n');
    expect(r.stdout).toContain('enrollToken: "***"');
    expect(r.stdout).toContain('  env: prod');
    expect(r.stdout).not.toContain('enr_secret');
  });

  it('--json prints JSON', async () => {
    const r = await runCli(['agent', '--check-config', '--json', '--modules', 'exec,fs', '--data-dir', emptyDir], { env: cleanEnv() });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ modules: ['exec', 'fs'], dataDir: emptyDir });
  });

  it('names each bad field and exits 1', async () => {
    const r = await runCli(['agent', '--check-config', '--modules', 'Exec', '--log-level', 'loud', '--data-dir', emptyDir], {
      env: cleanEnv(),
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: invalid agent configuration/);
    // The flag that carried the bad entry is named, with every other bad field.
    expect(r.stderr).toMatch(/^  --modules\[0\]: /m);
    expect(r.stderr).toMatch(/^  logLevel: /m);
  });

  it('a bad --label is named', async () => {
    const r = await runCli(['agent', '--check-config', '--label', 'nokv'], { env: cleanEnv() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: --label: "nokv" is not k=v/);
  });

  it('without --check-config a bad flag is a usage error and nothing starts', async () => {
    const r = await runCli(['agent', '--label', 'nokv', '--server', recorderUrl, '--data-dir', emptyDir], { env: cleanEnv() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--label/);
  });
});

describe.concurrent('bad arguments', () => {
  it.each([
    [['enroll', 'create', '--ttl', 'banana'], /--ttl/],
    [['enroll', 'create', '--label', 'nokv'], /--label/],
    [['enroll', 'create', '--uses', '0'], /--uses/],
    [['nodes', 'ls', '--status', 'sleepy'], /--status/],
    [['nodes', 'ls', '--selector', 'a b'], /--selector/],
    [['nodes', 'label', 'web-1'], /changes/],
    [['nodes', 'label', 'web-1', 'nokv'], /nokv/],
    [['nodes', 'rename', 'web-1', 'bad name!'], /new-name/],
    [['run', '--all'], /command/],
    [['run', '--all', '--node', 'a', '--', 'true'], /one of --node, --all/],
    [['run', '--', 'true'], /--node N/],
    [['run', '--all', '--timeout', 'soon', '--', 'true'], /--timeout/],
    [['run', '--all', '--batch', 'x', '--', 'true'], /--batch/],
    [['commands', 'submit', '--node', 'a', '--type', 'Nope'], /--type/],
    [['commands', 'submit', '--node', 'a', '--type', 'fs.mkdir', '--payload', '[]'], /--payload/],
    [['commands', 'submit', '--type', 'fs.mkdir'], /--node/],
    [['commands', 'show', 'cmd_x', '--wait', '1h'], /--wait/],
    [['commands', 'ls', '--state', 'done'], /--state/],
    [['events', '--kinds', 'nope'], /--kinds/],
    [['server', '--listen', 'nowhere'], /--listen/],
    [['server', '--db', 'mysql://x'], /--db/],
    [['nodes', 'ls', '--server', 'ftp://x'], /--server/],
    [['nodes', 'frobnicate'], /unknown command/],
    [['nodes', 'ls', '--bogus'], /unknown option/],
  ])('%j exits 2 naming the problem, before any request', async (args, pattern) => {
    const token = `t-${args.join('_')}`;
    const r = await runCli(args, { env: env(token) });
    expect(r.stderr).toMatch(/^error: /m);
    expect(r.stderr).toMatch(pattern);
    expect(r.code).toBe(2);
    expect(tokensSeen.has(`Bearer ${token}`)).toBe(false);
  });

  it('without any server to talk to, says which of the three to provide (exit 2)', async () => {
    const r = await runCli(['nodes', 'ls'], { env: cleanEnv({ STEWARD_DATA_DIR: emptyDir }) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--server');
    expect(r.stderr).toContain('STEWARD_SERVER');
    expect(r.stderr).toContain(join(emptyDir, 'endpoint.json'));
  });

  it('an unreachable server is a clear connection error naming the URL (exit 1)', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise<void>((r) => probe.close(() => r()));
    const r = await runCli(['nodes', 'ls', '--server', url, '--token', 't'], { env: cleanEnv({ STEWARD_DATA_DIR: emptyDir }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: cannot reach the Steward server at ${url}`, 'm'));
  });

  it('server errors print the envelope message and exit 1', async () => {
    const r = await runCli(['jobs', 'ls'], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: recorder\n');
  });

  it('--server and --token work before the subcommand too', async () => {
    const r = await runCli(['--server', recorderUrl, '--token', 'global-flags', 'jobs', 'ls'], {
      env: cleanEnv({ STEWARD_DATA_DIR: emptyDir }),
    });
    expect(r.stderr).toBe('error: recorder\n');
    expect(tokensSeen.has('Bearer global-flags')).toBe(true);
  });
});
