import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCommandLine } from '../../packages/cli/src/commands/enroll.js';
import { REPO, startServerProcess, tempDir, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);

interface Packages {
  version: string;
  packages: Record<string, { file: string; sha256: string; size: number }>;
}

/** Every file and symlink under `dir` with its SHA-256 (or link target) and mtime. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const rel = relative(dir, p);
      if (e.isSymbolicLink()) out[rel] = `-> ${readlinkSync(p)}`;
      else if (e.isDirectory()) walk(p);
      else if (!rel.endsWith('steward-agent.log') && !rel.startsWith('var/lib/steward/agent/')) {
        // The agent's own files (its journal, its log) change as it runs; the script's must not.
        out[rel] = `${createHash('sha256').update(readFileSync(p)).digest('hex')} ${statSync(p).mtimeMs} ${(statSync(p).mode & 0o777).toString(8)}`;
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** Files and symlinks left under `dir` (directories do not count). */
const leftovers = (dir: string) => Object.keys(snapshot(dir)).concat(existsSync(join(dir, 'var/lib/steward')) ? ['var/lib/steward'] : []);

const pidOf = (prefix: string) => readFileSync(join(prefix, 'var/lib/steward/agent-supervisor.pid'), 'utf8').trim();
const alive = (pid: string) => spawnSync('kill', ['-0', pid]).status === 0;

/**
 * The one-line install against a real control plane (TLS with its own CA, its agent package built
 * for real once for this file): the line `steward enroll create` prints, with `--prefix` into a
 * temp dir so nothing outside it is touched. No systemd here, so the agent runs supervised in the
 * background; the systemd unit the script writes is checked with systemd-analyze when it exists.
 */
describe('one-line agent install (GET /install.sh)', { timeout: 600_000 }, () => {
  let server: ServerProc;
  let ca: { sha256: string | null; serverKeySha256?: string | null };
  const prefixes: string[] = [];

  beforeAll(async () => {
    server = await startServerProcess({ args: ['--tls'], env: { STEWARD_AGENT_PACKAGE_BUILD: 'on', STEWARD_AGENT_PACKAGES: tempDir('steward-packages-') } });
    ca = await server.client.serverCa();
    // The package is built in the background after the control plane is ready.
    await waitFor('the agent package published', async () => /agent package published/.test(server.output()) || /could not build/.test(server.output()), { timeoutMs: 300_000 });
    expect(server.output()).not.toMatch(/could not build/);
  }, 600_000);

  afterAll(async () => {
    for (const p of prefixes) await run('sh', [join(REPO, 'scripts/install.sh'), '--uninstall', '--prefix', p]).catch(() => {});
    await server?.kill();
  });

  const line = (token: string, prefix: string, name: string) =>
    `${installCommandLine(server.url, token, ['via=install'], ca).replace('sudo ', '')} --prefix ${prefix} --name ${name}`;

  async function install(cmd: string) {
    const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', timeout: 120_000 });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  }

  it('serves the script, the CA and the package index without a credential', async () => {
    const curl = async (path: string) => (await run('curl', ['-fsS', '--cacert', join(server.dataDir, 'tls/ca.crt'), `${server.url}${path}`])).stdout;
    expect(await curl('/install.sh')).toContain(`DEFAULT_SERVER='${server.url}'`);
    expect(await curl('/install/ca.pem')).toContain('BEGIN CERTIFICATE');
    const index = JSON.parse(await curl('/install/package.json')) as Packages;
    const mine = index.packages[process.arch]!;
    expect(mine.file).toBe(`steward-agent-${index.version}-linux-${process.arch}.tar.gz`);
    expect(mine.size).toBeGreaterThan(10 * 1024 * 1024);
    // Everything else stays behind the operator token.
    await expect(run('curl', ['-fsS', '--cacert', join(server.dataDir, 'tls/ca.crt'), `${server.url}/api/v1/nodes`])).rejects.toThrow(/401/);
  });

  it('installs an agent that enrolls and comes online; a re-run changes nothing; --uninstall removes it all', async () => {
    const prefix = tempDir('steward-install-');
    prefixes.push(prefix);
    const { token } = await server.client.createEnrollmentToken({ ttlSeconds: 600, uses: 1 });
    const cmd = line(token, prefix, 'installed');
    expect(cmd).toMatch(/^curl -fsSL -k --pinnedpubkey sha256\/\/\S+ https:\/\/127\.0\.0\.1:\d+\/install\.sh \| sh -s -- --token \S+ --ca-sha256 sha256:[0-9a-f]{64} --label via=install /);

    const first = await install(cmd);
    expect(first.code, first.out).toBe(0);
    expect(first.out).toMatch(/started as a supervised background process/);
    await waitFor('node installed online', async () => {
      const n = await server.client.getNode('installed').catch(() => null);
      return n?.status === 'online' && n.connected;
    }, { timeoutMs: 60_000 });
    const node = await server.client.getNode('installed');
    expect(node.labels).toMatchObject({ via: 'install' });
    const { command } = await server.client.submitCommand({ node: 'installed', type: 'sys.ping', payload: { echo: 'installed' } });
    expect((await server.client.getCommand(command.id, { wait: 15 })).state).toBe('succeeded');

    const { version } = JSON.parse((await run('curl', ['-fsS', '--cacert', join(server.dataDir, 'tls/ca.crt'), `${server.url}/install/package.json`])).stdout) as Packages;
    expect(readlinkSync(join(prefix, 'opt/steward/agent/current'))).toBe(version);
    expect(statSync(join(prefix, 'etc/steward/agent.yaml')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(prefix, 'etc/steward/agent.yaml'), 'utf8')).toContain(`caSha256: '${ca.sha256}'`);
    const before = snapshot(prefix);
    const pid = pidOf(prefix);

    const again = await install(cmd);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toMatch(/nothing changed/);
    expect(snapshot(prefix)).toEqual(before);
    expect(pidOf(prefix)).toBe(pid);
    expect(alive(pid)).toBe(true);
    expect((await server.client.listNodes()).items.filter((n) => n.name === 'installed')).toHaveLength(1);

    const gone = spawnSync('sh', [join(REPO, 'scripts/install.sh'), '--uninstall', '--prefix', prefix], { encoding: 'utf8' });
    expect(gone.status, gone.stderr).toBe(0);
    expect(leftovers(prefix)).toEqual([]);
    await waitFor('supervisor gone', async () => !alive(pid), { timeoutMs: 20_000 });
    await waitFor('node installed offline', async () => !(await server.client.getNode('installed')).connected, { timeoutMs: 30_000 });
  });

  it('refuses a CA whose pin is not the one given, with nothing installed', async () => {
    const prefix = tempDir('steward-install-');
    prefixes.push(prefix);
    const { token } = await server.client.createEnrollmentToken({ ttlSeconds: 600, uses: 1 });
    const wrong = `sha256:${'0'.repeat(64)}`;
    const r = await install(line(token, prefix, 'wrong-pin').replace(`--ca-sha256 ${ca.sha256}`, `--ca-sha256 ${wrong}`));
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/refusing to trust it/);
    expect(leftovers(prefix)).toEqual([]);
  });

  it('refuses a tampered package with nothing installed', async () => {
    const index = JSON.parse((await run('curl', ['-fsS', '--cacert', join(server.dataDir, 'tls/ca.crt'), `${server.url}/install/package.json`])).stdout) as Packages;
    const { sha256 } = index.packages[process.arch]!;
    const blob = join(server.dataDir, 'artifacts', sha256.slice(0, 2), sha256);
    const original = readFileSync(blob);
    const prefix = tempDir('steward-install-');
    prefixes.push(prefix);
    try {
      // One byte changed in the stored tarball: what the control plane serves no longer has the sha it announces.
      const bad = Buffer.from(original);
      bad[bad.length - 100] = (bad[bad.length - 100]! + 1) % 256;
      writeFileSync(blob, bad);
      const { token } = await server.client.createEnrollmentToken({ ttlSeconds: 600, uses: 1 });
      const r = await install(line(token, prefix, 'tampered'));
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/refusing it \(nothing was installed\)/);
      expect(leftovers(prefix)).toEqual([]);
    } finally {
      writeFileSync(blob, original);
    }
  });

  it('writes a systemd unit that systemd-analyze verify accepts', async (ctx) => {
    const prefix = tempDir('steward-install-');
    prefixes.push(prefix);
    const { token } = await server.client.createEnrollmentToken({ ttlSeconds: 600, uses: 1 });
    // The unit names the installed binary, which verify checks exists: install first.
    const r = await install(line(token, prefix, 'unit'));
    expect(r.code, r.out).toBe(0);
    const unit = spawnSync('sh', [join(REPO, 'scripts/install.sh'), '--print-unit', '--prefix', prefix], { encoding: 'utf8' }).stdout;
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^KillMode=process$/m);
    expect(unit).toContain(`ExecStart=${prefix}/opt/steward/agent/current/bin/steward-agent --config ${prefix}/etc/steward/agent.yaml`);
    if (spawnSync('systemd-analyze', ['--version']).status !== 0) return ctx.skip();
    const file = join(tempDir('steward-unit-'), 'steward-agent.service');
    writeFileSync(file, unit);
    const verify = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    expect(verify.status, `${verify.stdout}${verify.stderr}`).toBe(0);
    expect(`${verify.stdout}${verify.stderr}`).not.toMatch(/steward-agent\.service/);
  });

  it('the package holds the agent, a Node runtime and the native addons, each in its manifest', async () => {
    const index = JSON.parse((await run('curl', ['-fsS', '--cacert', join(server.dataDir, 'tls/ca.crt'), `${server.url}/install/package.json`])).stdout) as Packages;
    const { file, sha256 } = index.packages[process.arch]!;
    const dir = tempDir('steward-package-');
    await run('curl', ['-fsS', '--cacert', join(server.dataDir, 'tls/ca.crt'), '-o', join(dir, file), `${server.url}/install/${file}`]);
    expect(createHash('sha256').update(readFileSync(join(dir, file))).digest('hex')).toBe(sha256);
    await run('tar', ['-xzf', join(dir, file), '-C', dir]);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { version: string; arch: string; files: Record<string, string> };
    expect(manifest).toMatchObject({ version: index.version, arch: process.arch });
    expect(Object.keys(manifest.files)).toEqual(
      expect.arrayContaining(['bin/node', 'bin/steward-agent', 'steward-agent.mjs', 'node_modules/better-sqlite3/build/Release/better_sqlite3.node', 'node_modules/node-pty/build/Release/pty.node']),
    );
    for (const [f, h] of Object.entries(manifest.files)) expect(createHash('sha256').update(readFileSync(join(dir, f))).digest('hex'), f).toBe(h);
    expect((await run(join(dir, 'bin/steward-agent'), ['--version'])).stdout.trim()).toBe(index.version);
    for (const sh of ['sh', 'dash']) {
      const syntax = spawnSync(sh, ['-n', join(REPO, 'scripts/install.sh')], { encoding: 'utf8' });
      if (syntax.error) continue; // no dash here
      expect(syntax.status, `${sh}: ${syntax.stderr}`).toBe(0);
    }
  });
});
