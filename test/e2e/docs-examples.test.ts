import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODULES } from '@steward/agent/default-modules';
import { FAST_TIMINGS, REPO, STEWARD_BIN, startServerProcess, tempDir, waitOnline, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/**
 * Every ```sh block of README.md and docs/*.md runs here against a real control plane with two
 * agents (web-1, web-2, role=web), so the docs cannot drift from what the product does. A block
 * fails the test named after its file and line. What the harness changes, all of it explicit:
 *  - `steward` and `npx steward` run this repository's CLI (a PATH shim); commands that follow
 *    a live stream (`events`, `-f`) run for 3 s; `curl` gets `--fail-with-body`, so an error
 *    answer (a 415, a 401) fails the block;
 *  - `127.0.0.1:7070` becomes the test control plane, `/srv` a directory of the test;
 *  - HOME is the test's, so `~/.steward/server` (admin token, endpoint) is the control plane's
 *    data dir; $TOKEN / $STEWARD_TOKEN hold the admin token, as the docs assume;
 *  - the files the examples name (site.tar.gz, job.py, web.yaml, /srv/site…) are made first;
 *  - in synopsis lines, optional parts `[--x y]` are kept (so they must exist), `a|b|c` runs once
 *    per choice, and the placeholders below get real values.
 */

interface Block {
  file: string;
  line: number;
  text: string;
}

/** Blocks that cannot run here, each with why. */
const SKIP: { file: string; contains: string; why: string }[] = [
  { file: 'README.md', contains: 'npm ci && npm start', why: 'installs the project and starts a long-running control plane on port 7070; this test runs on that install' },
  { file: 'README.md', contains: 'steward server --listen 0.0.0.0:7070', why: 'production control planes: all interfaces on port 7070, /var/lib and a PostgreSQL host named db' },
  { file: 'README.md', contains: 'steward agent --server https://cp:7070', why: 'an agent for another machine (a control plane at cp:7070, a real enrollment token); `--check-config ...` is elided' },
  { file: 'docs/backups.md', contains: 'npm start -- --agent-config agent.yaml', why: 'starts a long-running `npm start` on port 7070; packages/cli/test/up.e2e.test.ts runs this example against `steward up --agent-config` and backs up through the local agent' },
  { file: 'docs/compatibility.md', contains: 'steward agent --server https://cp:7070 --ca-sha256 sha256:<hex> --listen', why: 'a long-running agent for another machine (cp:7070, 10.0.0.21); test/e2e/mediastack.test.ts starts one with the same inbound config' },
  { file: 'docs/compatibility.md', contains: 'openssl dgst -sha256 -hmac', why: "a node at 10.0.0.21 with its key and secret; test/e2e/mediastack.test.ts signs and sends requests this way" },
  { file: 'docs/configuration.md', contains: 'STEWARD_SERVERS=https://cp1:7070', why: 'syntax of the list sources for agents dialling hosts cp1 and cp2 that do not exist here (each line ends in `...`); test/e2e/failover.test.ts starts an agent with a two-URL list against two real replicas, and packages/agent/test/core/config.test.ts checks every source of the list' },
  { file: 'docs/configuration.md', contains: 'cp -r examples/plugins/hello', why: "copies into the plugins dir of an agent running on this machine (~/.steward/agent); test/e2e/plugins.test.ts drops the same example folder into a real agent's plugins dir and runs hello.greet" },
  { file: 'docs/upgrades.md', contains: 'steward agents upgrade --version 0.2.0', why: "needs agents installed from a package (install.sh) and a package of version 0.2.0 in the store; test/e2e/agent-upgrade.test.ts runs `steward agents upgrade … --watch`, `agents upgrades ls` and `abort` against three installed agents" },
  { file: 'docs/hosting.md', contains: 'nginx.site.apply --payload-file shop.yaml', why: 'needs nginx and pure-ftpd set up on the node; test/e2e/hosting.test.ts applies sites and users the same way (commands submit --payload-file -)' },
  { file: 'docs/scaling.md', contains: '--only sizing', why: 'steps a fleet of simulated agents up to 19,500 (minutes per store); `npm run bench -- --only sizing` is the bench, not a test' },
  { file: 'docs/soak.md', contains: 'npm run soak', why: 'runs for minutes with its own PostgreSQL cluster, two replicas and agents that it kills; test/e2e/soak.test.ts runs the 2-minute version' },
];

function shBlocks(file: string): Block[] {
  const lines = readFileSync(join(REPO, file), 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(sh|bash|shell)\s*$/.test(lines[i]!)) continue;
    const start = i;
    while (++i < lines.length && !/^```\s*$/.test(lines[i]!));
    out.push({ file, line: start + 1, text: lines.slice(start + 1, i).join('\n') });
  }
  return out;
}

const FILES = ['README.md', ...readdirSync(join(REPO, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const BLOCKS = FILES.flatMap(shBlocks);
const skipOf = (b: Block) => SKIP.find((s) => s.file === b.file && b.text.includes(s.contains));

/** `[--x y]` kept as `--x y`; a word `a|b|c` (no spaces) makes one line per choice. */
function expandSynopsis(text: string): string {
  return text
    .split('\n')
    .flatMap((line) => {
      // Only brackets standing alone between spaces: JSON arrays in a payload stay as they are.
      const code = line.replace(/(?<=\s)\[([^[\]]*)\](?=\s|$)/g, '$1');
      const choice = /(?<=\s)([a-z][a-z-]*(?:\|[a-z][a-z-]*)+)(?=\s|$)/.exec(code);
      return choice ? choice[1]!.split('|').map((c) => code.replace(choice[1]!, c)) : [code];
    })
    .join('\n');
}

let server: ServerProc;
const agents: ChildProcess[] = [];
let sandbox = '';
let env: NodeJS.ProcessEnv = {};
/** Placeholder → value, per file: what a reader would put in their place. */
let placeholders: Record<string, Record<string, string>> = {};

function prepare(b: Block): string {
  let text = expandSynopsis(b.text);
  for (const [ph, value] of Object.entries(placeholders[b.file] ?? {})) text = text.split(ph).join(value);
  text = text.replaceAll('127.0.0.1:7070', new URL(server.url).host).replace(/(?<=[\s"'])\/srv(?=[/\s"']|$)/gm, join(sandbox, 'srv'));
  return `set -eo pipefail\n${text}\n`;
}

function runBlock(b: Block): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-xc', prepare(b)], { cwd: sandbox, env, timeout: 360_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}\n${stderr}` });
    });
  });
}

function writeShims(dir: string): void {
  const realNpx = execFileSync('bash', ['-c', 'command -v npx'], { encoding: 'utf8' }).trim();
  const realCurl = execFileSync('bash', ['-c', 'command -v curl'], { encoding: 'utf8' }).trim();
  const shims: Record<string, string> = {
    steward: `#!/bin/bash
# Commands that follow a live stream run for 3 s; stopped then, they count as a success.
for a in "$@"; do
  if [ "$a" = events ] || [ "$a" = -f ] || [ "$a" = --follow ]; then
    timeout -s INT 3 ${JSON.stringify(process.execPath)} ${JSON.stringify(STEWARD_BIN)} "$@"; rc=$?
    [ $rc = 124 ] && exit 0
    exit $rc
  fi
done
exec ${JSON.stringify(process.execPath)} ${JSON.stringify(STEWARD_BIN)} "$@"
`,
    npx: `#!/bin/bash
if [ "$1" = steward ]; then shift; exec steward "$@"; fi
exec ${JSON.stringify(realNpx)} "$@"
`,
    curl: `#!/bin/bash
exec ${JSON.stringify(realCurl)} --fail-with-body "$@"
`,
  };
  for (const [name, body] of Object.entries(shims)) {
    writeFileSync(join(dir, name), body);
    chmodSync(join(dir, name), 0o755);
  }
}

describe('every shell example in README.md and docs/ runs as written', { timeout: 400_000 }, () => {
  beforeAll(async () => {
    sandbox = tempDir('steward-docs-');
    const home = join(sandbox, 'home');
    const bin = join(sandbox, 'bin');
    for (const d of [home, bin, join(sandbox, 'srv', 'site'), join(sandbox, 'srv', 'build')]) mkdirSync(d, { recursive: true });
    writeShims(bin);
    // Files the examples name.
    writeFileSync(join(sandbox, 'srv', 'site', 'index.html'), '<h1>site</h1>\n');
    writeFileSync(join(sandbox, 'srv', 'site', 'debug.log'), 'excluded\n');
    writeFileSync(join(sandbox, 'srv', 'build', 'Makefile'), 'all:\n\t@echo built\n');
    writeFileSync(join(sandbox, 'job.py'), 'import sys\nprint("job", sys.argv[1:])\n');
    execFileSync('tar', ['-czf', join(sandbox, 'site.tar.gz'), '-C', join(sandbox, 'srv'), 'site']);
    // The repository's examples (docs/configuration.md packs examples/plugins/hello).
    cpSync(join(REPO, 'examples'), join(sandbox, 'examples'), { recursive: true });

    server = await startServerProcess({ dataDir: join(home, '.steward', 'server'), env: { STEWARD_ALERT_FAILED_COMMANDS: 'exec.run', STEWARD_WEBHOOK_ALLOW: '127.0.0.1' } });
    for (const [name, labels] of [['web-1', ['role=web']], ['web-2', ['role=web', 'zone=lab']]] as const) {
      const { token } = await server.client.createEnrollmentToken({ ttlSeconds: 600, uses: 1 });
      const dataDir = tempDir('steward-docs-agent-');
      const config = join(dataDir, 'agent.yaml');
      // The agents' fs roots are the test's /srv, where the examples' paths point.
      writeFileSync(
        config,
        `reconnect: { initialDelayMs: 100, maxDelayMs: 500, keepaliveMs: 300 }\n` +
          `resources: { cpuCores: 4, memoryBytes: 8589934592, diskBytes: 107374182400 }\n` +
          `fs:\n  roots: [${JSON.stringify(join(sandbox, 'srv'))}]\n`,
      );
      const child = spawn(process.execPath, [STEWARD_BIN, 'agent', '--server', server.url, '--data-dir', dataDir, '--config', config, '--enroll-token', token, '--name', name, ...labels.flatMap((l) => ['--label', l])], {
        stdio: 'ignore',
        env: { ...process.env, ...FAST_TIMINGS },
      });
      agents.push(child);
      await waitOnline(server, name, undefined, 90_000);
    }
    // What the examples refer to by placeholder: an alert, a webhook, a backup, a schedule, a task, an artifact.
    const c = server.client;
    const failing = await c.submitCommand({ node: 'web-1', type: 'exec.run', payload: { command: 'false' } });
    await c.getCommand(failing.command.id, { wait: 20 });
    const alert = await waitFor('a command alert', async () => (await c.listAlerts({ state: 'firing' })).items[0]);
    const hook = await c.createWebhook({ url: 'http://127.0.0.1:9/steward', name: 'docs' });
    const started = await c.runBackup({ node: 'web-1', source: join(sandbox, 'srv', 'site'), destination: 'control-plane' });
    await c.getCommand(started.command!.id, { wait: 60 });
    const backup = await waitFor('the backup to be recorded', async () => (await c.listBackups({ node: 'web-1' })).items[0]);
    const schedule = await c.createBackupSchedule({ cron: '0 3 * * *', target: { selector: 'role=web' }, source: join(sandbox, 'srv'), keepLast: 3 });
    // A task no node can take: it stays queued, so show, logs -f and cancel have something to act on.
    const { task } = await c.submitTask({ kind: 'exec', payload: { command: 'true' }, requirements: { capabilities: ['docs-never'] } });
    const sha = execFileSync('sha256sum', [join(sandbox, 'site.tar.gz')], { encoding: 'utf8' }).split(' ')[0]!;
    // web.yaml of docs/services.md, with a program that runs until stopped, from the artifact store.
    mkdirSync(join(sandbox, 'web'));
    writeFileSync(join(sandbox, 'web', 'run'), '#!/bin/sh\necho web up\nexec sleep 1000\n', { mode: 0o755 });
    execFileSync('tar', ['-czf', join(sandbox, 'web.tar.gz'), '-C', join(sandbox, 'web'), 'run']);
    const { artifact: web } = await c.putArtifactFile(join(sandbox, 'web.tar.gz'), { name: 'web.tar.gz' });
    writeFileSync(
      join(sandbox, 'web.yaml'),
      `name: web\nversion: 1.4.2\nartifact: { artifactSha256: \"${web.sha256}\", sha256: \"${web.sha256}\" }\ncommand: ./run\ntarget: { selector: role=web }\n`,
    );
    placeholders = {
      'docs/alerts.md': { 'alert_…': alert.id },
      'docs/artifacts.md': { '<sha256>': sha, SHA256: sha, 'SHA ': `${sha} `, FILE: 'site.tar.gz', NAME: 'site.tar.gz' },
      'docs/backups.md': { BACKUP: backup.id, SCHEDULE: schedule.id },
      'docs/tasks.md': { TASK: task.id, NAME: 'web-1' },
    };
    placeholders['docs/alerts.md']!['wh_…'] = hook.id;
    const token = server.token;
    env = { ...process.env, HOME: home, PATH: `${bin}:${process.env.PATH}`, TOKEN: token, STEWARD_TOKEN: token, STEWARD_SERVER: '', STEWARD_DATA_DIR: '' };
    delete env.STEWARD_SERVER;
    delete env.STEWARD_DATA_DIR;
  }, 180_000);

  afterAll(async () => {
    const exits = agents.filter((a) => a.exitCode === null).map((a) => new Promise((r) => a.once('exit', r)));
    for (const a of agents) a.kill('SIGTERM');
    await Promise.allSettled([...exits, server?.kill()]);
  });

  it('every skip still names a block', () => {
    for (const s of SKIP) expect(BLOCKS.some((b) => b.file === s.file && b.text.includes(s.contains)), `${s.file}: ${s.contains}`).toBe(true);
  });

  for (const b of BLOCKS) {
    const skip = skipOf(b);
    if (skip) {
      it.skip(`${b.file}:${b.line} (skipped: ${skip.why})`, () => {});
      continue;
    }
    it(`${b.file}:${b.line}`, async () => {
      const r = await runBlock(b);
      if (r.code !== 0) throw new Error(`${b.file}:${b.line}: the example exits ${r.code}\n--- block as run ---\n${prepare(b)}--- output ---\n${r.output.slice(-6000)}`);
    });
  }
});

describe('README and --help tell the truth', () => {
  it('the Node.js versions README asks for are the ones package.json declares, and it names the dependencies that want more', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const engines = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    expect(readme).toContain(`Requirements: Node.js \`${engines}\``);
    // A dependency that wants a newer Node than the oldest one allowed makes `npm ci` warn: README must say which.
    const oldest = Number(/\^?(\d+)\./.exec(engines)![1]);
    const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; engines?: { node?: string } }> };
    const wantMore = Object.entries(lock.packages)
      .filter(([, p]) => /^>=\s*(\d+)$/.test(p.engines?.node ?? '') && Number(/\d+/.exec(p.engines!.node!)![0]) > oldest)
      .map(([path, p]) => `${path.split('node_modules/').pop()}@${p.version!.split('.')[0]}`);
    expect(wantMore.length).toBeGreaterThan(0);
    for (const dep of wantMore) expect(readme, dep).toContain(`\`${dep}\``);
  });

  it('steward agent --help shows the default module list the agent really uses', () => {
    const help = execFileSync(process.execPath, [STEWARD_BIN, 'agent', '--help'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    expect(help).toContain(`(${DEFAULT_MODULES.join(',')})`);
  });
});
