import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Command } from '@steward/protocol';
import { NginxInstance } from '../support/nginx-instance.js';
import { PureFtpdInstance } from '../support/pure-ftpd-instance.js';
import { freePort, REPO, STEWARD_BIN, startAgentProcess, startServerProcess, tempDir, waitOnline, type AgentProc, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);
const NODE = 'web-1';

let server: ServerProc;
let agent: AgentProc;
let nginx: NginxInstance;
let ftpd: PureFtpdInstance;
let dir: string;

/** Submits a command to the agent and waits for its end. */
async function cmd(type: string, payload: Record<string, unknown> = {}): Promise<Command> {
  const { command } = await server.client.submitCommand({ node: NODE, type, payload });
  return waitFor(`${type} to end`, async () => {
    const c = await server.client.getCommand(command.id, { wait: 10 });
    return ['succeeded', 'failed', 'timed_out', 'cancelled', 'expired'].includes(c.state) && c;
  }, { timeoutMs: 60_000 });
}

async function ok(type: string, payload: Record<string, unknown> = {}): Promise<any> {
  const c = await cmd(type, payload);
  if (c.state !== 'succeeded') throw new Error(`${type} ended ${c.state}: ${JSON.stringify(c.error)}`);
  return c.result;
}

/**
 * GET / on a fresh connection each time: a kept-alive one may be closed by an nginx worker that a
 * reload (an earlier test's) retired, which says nothing about the site.
 */
async function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(`${res.statusCode} ${body}`));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET :${port}/ timed out`)));
    req.on('error', reject);
    req.end();
  });
}

function httpsGet(port: number, servername: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', servername, ca, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(`${res.statusCode} ${body}`));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every file under `root` with its SHA-256, to show nothing changed; nginx's own logs are left out (nginx -t may write to them). */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(root)) return out;
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || e.name.endsWith('.log')) continue;
    const p = join(e.parentPath, e.name);
    out[p] = createHash('sha256').update(readFileSync(p)).digest('hex');
  }
  return out;
}

/** Payloads the agent's journal still holds, as text (finished commands keep only the redacted copy). */
function journalPayloads(): string {
  const db = new Database(join(agent.dataDir, 'journal.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('select payload from commands').all() as { payload: string }[]).map((r) => r.payload).join('\n');
  } finally {
    db.close();
  }
}

function page(name: string, text: string): string {
  const d = join(dir, 'www', name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'index.html'), text);
  return d;
}

beforeAll(async () => {
  dir = tempDir('steward-hosting-');
  nginx = new NginxInstance(join(dir, 'nginx'));
  await nginx.start();
  ftpd = new PureFtpdInstance(join(dir, 'ftpd'));
  mkdirSync(ftpd.dir, { recursive: true });
  mkdirSync(join(dir, 'ftp'), { recursive: true });
  await ftpd.start();
  server = await startServerProcess();
  const { token } = await server.client.createEnrollmentToken({ uses: 1 });
  agent = startAgentProcess({
    server: server.url,
    token,
    name: NODE,
    config: `modules: [sys, nginx, ftp]\n${nginx.agentYaml()}${ftpd.agentYaml(join(dir, 'ftp'))}`,
  });
  await waitOnline(server, NODE, agent);
}, 90_000);

afterAll(async () => {
  // Each one stopped even when another fails to: no nginx or pure-ftpd outlives the suite.
  const stopped = await Promise.allSettled([agent?.kill(), server?.kill(), nginx?.stop(), ftpd?.stop()]);
  for (const s of stopped) if (s.status === 'rejected') throw s.reason;
});

describe('nginx sites through Steward against a real nginx', { timeout: 120_000 }, () => {
  let port: number;

  it('status says nginx is installed, running and its config passes', async () => {
    const s = await ok('nginx.status');
    expect(s).toMatchObject({ installed: true, running: true, pid: nginx.pid(), configOk: true });
    expect(s.version).toMatch(/^\d+\.\d+/);
  });

  it('an applied site answers over HTTP; the same again is changed: false', async () => {
    port = await freePort();
    const site = { name: 'alpha', serverNames: ['alpha.test'], listen: { port, address: '127.0.0.1' }, root: page('alpha1', 'alpha v1'), index: 'index.html' };
    const first = await ok('nginx.site.apply', site);
    expect(first).toMatchObject({ name: 'alpha', changed: true, reloaded: true, running: true });
    await waitFor('alpha to answer', async () => (await httpGet(port)) === '200 alpha v1');
    const again = await ok('nginx.site.apply', site);
    expect(again).toMatchObject({ changed: false, reloaded: false, sha256: first.sha256 });
    const { sites } = await ok('nginx.site.list');
    expect(sites).toEqual([expect.objectContaining({ name: 'alpha', serverNames: ['alpha.test'], listen: `127.0.0.1:${port}`, tls: false, sha256: first.sha256 })]);
  });

  it('a change reloads nginx and the new content is served', async () => {
    const r = await ok('nginx.site.apply', {
      name: 'alpha',
      serverNames: ['alpha.test'],
      listen: { port, address: '127.0.0.1' },
      root: page('alpha2', 'alpha v2'),
      locations: [{ path: '/old/', root: page('alpha1', 'alpha v1') }],
    });
    expect(r).toMatchObject({ changed: true, reloaded: true });
    await waitFor('alpha v2 served', async () => (await httpGet(port)) === '200 alpha v2');
  });

  it('the location example of docs/hosting.md serves the file the docs say it does', async () => {
    const doc = readFileSync(join(REPO, 'docs/hosting.md'), 'utf8');
    const block = /### `nginx\.site\.apply`\s+```yaml\n([\s\S]*?)```/.exec(doc)![1]!;
    const spec = parseYaml(block) as { locations: { path: string; root?: string; proxyPass?: string }[] };
    const staticLine = block.split('\n').find((l) => l.includes('root:') && l.includes('serves'))!;
    const [, url, file] = /serves (\S+) from (\S+)/.exec(staticLine)!;
    // The docs' absolute paths, moved under this test's directory.
    const under = (p: string) => join(dir, 'docs-example', p);
    mkdirSync(join(under(file!), '..'), { recursive: true });
    writeFileSync(under(file!), 'body { color: teal }\n');
    const docPort = await freePort();
    const locations = spec.locations.map((l) => (l.root ? { ...l, root: under(l.root) } : l));
    await ok('nginx.site.apply', { name: 'docs-example', serverNames: ['docs.test'], listen: { port: docPort, address: '127.0.0.1' }, locations });
    const get = async () => {
      const res = await fetch(`http://127.0.0.1:${docPort}${url}`, { signal: AbortSignal.timeout(5000) });
      return `${res.status} ${await res.text()}`;
    };
    await waitFor(`${url} to be served`, async () => (await get().catch(() => '')) === '200 body { color: teal }\n');
    expect(await ok('nginx.site.remove', { name: 'docs-example' })).toMatchObject({ changed: true });
  });

  it('a change nginx -t refuses is rolled back: old site keeps answering, nginx message in the error', async () => {
    const before = tree(nginx.dir);
    const conf = join(nginx.sitesDir, 'alpha.conf');
    const c = await cmd('nginx.site.apply', {
      name: 'alpha',
      serverNames: ['alpha.test'],
      listen: { port, address: '127.0.0.1' },
      root: page('alpha3', 'alpha v3'),
      locations: [{ path: '/dup/', root: '/srv' }, { path: '/dup/', proxyPass: 'http://127.0.0.1:9' }],
    });
    expect(c.state).toBe('failed');
    expect(c.error?.code).toBe('nginx_test_failed');
    expect(c.error?.message).toContain('duplicate location "/dup/"');
    expect(readFileSync(conf, 'utf8')).toContain(join(dir, 'www', 'alpha2'));
    expect(tree(nginx.dir)).toEqual(before);
    expect(await httpGet(port)).toBe('200 alpha v2');
    expect(nginx.pid()).not.toBeNull();
  });

  it('a TLS site answers over HTTPS with its certificate; the key is 0600 and never returned or logged', async () => {
    const tls = join(dir, 'cert');
    mkdirSync(tls);
    const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=secure.test', '-addext', 'subjectAltName=DNS:secure.test', '-keyout', join(tls, 'k.pem'), '-out', join(tls, 'c.pem')], { encoding: 'utf8' });
    expect(gen.status, gen.stderr).toBe(0);
    const certPem = readFileSync(join(tls, 'c.pem'), 'utf8');
    const keyPem = readFileSync(join(tls, 'k.pem'), 'utf8');
    const sslPort = await freePort();
    const site = { name: 'secure', serverNames: ['secure.test'], listen: { port: sslPort, ssl: true, address: '127.0.0.1' }, root: page('secure', 'secret site'), tls: { certPem, keyPem } };
    const c = await cmd('nginx.site.apply', site);
    expect(c.state, JSON.stringify(c.error)).toBe('succeeded');
    await waitFor('https to answer', async () => (await httpsGet(sslPort, 'secure.test', certPem)) === '200 secret site');
    expect(statSync(join(nginx.tlsDir, 'secure.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(nginx.tlsDir, 'secure.crt')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(nginx.tlsDir, 'secure.key'), 'utf8')).toBe(keyPem);
    const keyBody = keyPem.split('\n')[1]!;
    expect(JSON.stringify(c.result)).not.toContain(keyBody);
    expect(JSON.stringify(c.error ?? null)).not.toContain(keyBody);
    expect(agent.output()).not.toContain(keyBody);
    expect((await ok('nginx.site.apply', site)).changed).toBe(false);

    // A certificate that does not parse: nginx -t refuses it, the working pair is put back.
    const broken = certPem.replace(/\n[A-Za-z0-9+/]{10}/, '\nAAAAAAAAAA');
    const bad = await cmd('nginx.site.apply', { ...site, tls: { certPem: broken, keyPem } });
    expect(bad.state).toBe('failed');
    expect(bad.error?.code).toBe('nginx_test_failed');
    expect(bad.error?.message).toMatch(/certificate/i);
    expect(readFileSync(join(nginx.tlsDir, 'secure.crt'), 'utf8')).toBe(certPem);
    expect(await httpsGet(sslPort, 'secure.test', certPem)).toBe('200 secret site');
    // Neither the command as the API shows it (payload included) nor the agent's journal keeps the key.
    for (const [shown, cert] of [[c, certPem], [bad, broken], [await server.client.getCommand(c.id), certPem]] as const) {
      expect(JSON.stringify(shown)).not.toContain(keyBody);
      expect((shown.payload as any).tls.keyPem).toBe('[redacted]');
      expect((shown.payload as any).tls.certPem).toBe(cert);
    }
    expect(journalPayloads()).not.toContain(keyBody);
    expect(agent.output()).not.toContain(keyBody);

    // Through a job too: the job and its commands show the key redacted.
    const job = await server.client.createJob({ type: 'nginx.site.apply', payload: site, target: { nodes: [NODE] } });
    const doneJob = await waitFor('the job to end', async () => {
      const j = await server.client.getJob(job.id, { wait: 10 });
      return j.state !== 'running' && j;
    }, { timeoutMs: 60_000 });
    expect(doneJob.state).toBe('succeeded');
    expect((doneJob.payload as any).tls.keyPem).toBe('[redacted]');
    expect(JSON.stringify(doneJob)).not.toContain(keyBody);
    expect(doneJob.commands[0]!.result).toMatchObject({ changed: false });
  });

  it('injection attempts are refused with the field named, and nothing on disk changes', async () => {
    const before = tree(nginx.dir);
    const base = { name: 'alpha', serverNames: ['alpha.test'], listen: { port, address: '127.0.0.1' } };
    const attempts: [Record<string, unknown>, string][] = [
      [{ ...base, serverNames: ['alpha.test; include /etc/passwd'] }, 'serverNames'],
      [{ ...base, root: '/srv/www;\n}\nserver { listen 81' }, 'root'],
      [{ ...base, root: '/srv/$host' }, 'root'],
      [{ ...base, index: 'index.html"' }, 'index'],
      [{ ...base, locations: [{ path: '/a/ { return 200; } location /b/', root: '/srv' }] }, 'locations'],
      [{ ...base, locations: [{ path: '/a/', proxyPass: 'http://127.0.0.1:80;proxy_pass http://evil' }] }, 'locations'],
      [{ ...base, listen: { port, address: '127.0.0.1;' } }, 'listen'],
      [{ ...base, name: '../../etc/passwd' }, 'name'],
    ];
    for (const [payload, field] of attempts) {
      const err = await server.client.submitCommand({ node: NODE, type: 'nginx.site.apply', payload }).then(
        () => null,
        (e: any) => e,
      );
      expect(err, JSON.stringify(payload)).not.toBeNull();
      expect(err.status).toBe(400);
      expect(err.message).toContain(field);
    }
    expect(tree(nginx.dir)).toEqual(before);
    expect(await httpGet(port)).toBe('200 alpha v2');
  });

  it('concurrent applies are taken one at a time and all land', async () => {
    const ports = await Promise.all([1, 2, 3].map(() => freePort()));
    const results = await Promise.all(
      ports.map((p, i) => cmd('nginx.site.apply', { name: `many-${i}`, serverNames: [`many${i}.test`], listen: { port: p, address: '127.0.0.1' }, root: page(`many${i}`, `many ${i}`) })),
    );
    expect(results.map((c) => [c.state, (c.result as any)?.changed])).toEqual([['succeeded', true], ['succeeded', true], ['succeeded', true]]);
    for (const [i, p] of ports.entries()) await waitFor(`many-${i}`, async () => (await httpGet(p)) === `200 many ${i}`);
    for (const i of [0, 1, 2]) await ok('nginx.site.remove', { name: `many-${i}` });
  });

  it('the CLI applies a site from a YAML payload file (read from stdin)', async () => {
    const cliPort = await freePort();
    const yaml = [
      'name: from-cli',
      'serverNames: [cli.test]',
      `listen: { port: ${cliPort}, address: 127.0.0.1 }`,
      `root: ${page('cli', 'made by the cli')}`,
      '',
    ].join('\n');
    const child = execFile(process.execPath, [STEWARD_BIN, 'commands', 'submit', '--node', NODE, '--type', 'nginx.site.apply', '--payload-file', '-', '--wait', '60s', '--json', '--server', server.url, '--token', server.token]);
    child.stdin!.end(yaml);
    let stdout = '';
    child.stdout!.on('data', (d) => (stdout += d));
    const code = await new Promise((r) => child.once('exit', r));
    expect(code, stdout).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ state: 'succeeded', result: { name: 'from-cli', changed: true } });
    await waitFor('the cli site to answer', async () => (await httpGet(cliPort)) === '200 made by the cli');
    expect(await ok('nginx.site.remove', { name: 'from-cli' })).toMatchObject({ changed: true });
  });

  it('remove takes the site away; removing again is changed: false', async () => {
    expect(await ok('nginx.site.remove', { name: 'alpha' })).toMatchObject({ changed: true, reloaded: true });
    await waitFor('alpha to stop answering', async () => httpGet(port).then(() => false, () => true));
    expect(existsSync(join(nginx.sitesDir, 'alpha.conf'))).toBe(false);
    expect(await ok('nginx.site.remove', { name: 'alpha' })).toMatchObject({ changed: false });
    expect((await ok('nginx.site.list')).sites.map((s: { name: string }) => s.name)).toEqual(['secure']);
  });
});

describe('Pure-FTPd virtual users through Steward against a real pure-ftpd', { timeout: 120_000 }, () => {
  const password = 'Corr3ct-horse-battery';
  const home = () => join(dir, 'ftp', 'carol');
  const upload = async (user: string, pass: string, name: string) => {
    const file = join(dir, name);
    writeFileSync(file, `hello from ${name}\n`);
    // -K - reads the credentials from stdin, so they stay off argv.
    const child = execFile('curl', ['-sS', '--max-time', '15', '-K', '-', '-T', file, `ftp://127.0.0.1:${ftpd.port}/`]);
    child.stdin!.end(`user = "${user}:${pass}"\n`);
    return new Promise<{ code: number | null; stderr: string }>((resolve) => {
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      child.once('exit', (code) => resolve({ code, stderr }));
    });
  };

  it('status says pure-ftpd is installed', async () => {
    expect(await ok('ftp.status')).toMatchObject({ installed: true });
  });

  it('a user made through Steward logs in and uploads; a wrong password cannot', async () => {
    const r = await ok('ftp.user.apply', { username: 'carol', password, home: home(), uid: 65534, gid: 65534, quotaMB: 10 });
    expect(r).toMatchObject({ username: 'carol', changed: true, created: true, homeCreated: true });
    expect(statSync(home()).uid).toBe(65534);
    const up = await upload('carol', password, 'up.txt');
    expect(up.code, up.stderr).toBe(0);
    expect(readFileSync(join(home(), 'up.txt'), 'utf8')).toBe('hello from up.txt\n');
    const wrong = await upload('carol', 'not-the-password', 'nope.txt');
    expect(wrong.stderr).toContain('530'); // login refused, not a timeout
    expect(existsSync(join(home(), 'nope.txt'))).toBe(false);
  });

  it('list shows the user without any password; identical apply without a password is changed: false', async () => {
    const { users } = await ok('ftp.user.list');
    expect(users).toEqual([{ username: 'carol', home: home(), uid: 65534, gid: 65534, chroot: true, quotaMB: 10, maxFiles: null }]);
    const same = await ok('ftp.user.apply', { username: 'carol', home: home(), uid: 65534, gid: 65534, quotaMB: 10 });
    expect(same).toMatchObject({ changed: false });
    const quota = await ok('ftp.user.apply', { username: 'carol', home: home(), uid: 65534, gid: 65534, quotaMB: 20, maxFiles: 500 });
    expect(quota).toMatchObject({ changed: true, created: false, passwordSet: false });
    expect((await ok('ftp.user.list')).users[0]).toMatchObject({ quotaMB: 20, maxFiles: 500 });
    expect((await upload('carol', password, 'still.txt')).code).toBe(0);
  });

  it('bad usernames and homes are refused before pure-pw runs', async () => {
    for (const [payload, field] of [
      [{ username: 'eve:0:0', password: 'x', home: join(dir, 'ftp', 'eve'), uid: 65534 }, 'username'],
      [{ username: '-f', password: 'x', home: join(dir, 'ftp', 'eve'), uid: 65534 }, 'username'],
      [{ username: 'eve', password: 'x\ny', home: join(dir, 'ftp', 'eve'), uid: 65534 }, 'password'],
      [{ username: 'eve', password: 'x', home: 'relative/eve', uid: 65534 }, 'home'],
    ] as const) {
      const err = await server.client.submitCommand({ node: NODE, type: 'ftp.user.apply', payload }).then(() => null, (e: any) => e);
      expect(err?.status, JSON.stringify(payload)).toBe(400);
      expect(err.message).toContain(field);
    }
    const outside = await cmd('ftp.user.apply', { username: 'eve', password: 'x', home: join(dir, 'ftp', '..', 'escape'), uid: 65534 });
    expect(outside.state).toBe('failed');
    expect(outside.error?.code).toBe('invalid_user');
    const elsewhere = await cmd('ftp.user.apply', { username: 'eve', password: 'x', home: '/etc/eve', uid: 65534 });
    expect(elsewhere.error?.message).toContain('outside ftp.homeRoots');
    expect(existsSync(join(dir, 'escape'))).toBe(false);
    expect((await ok('ftp.user.list')).users.map((u: { username: string }) => u.username)).toEqual(['carol']);
  });

  it('a removed user cannot log in; removing again is changed: false; the password is nowhere', async () => {
    expect(await ok('ftp.user.remove', { username: 'carol' })).toMatchObject({ changed: true });
    const after = await upload('carol', password, 'gone.txt');
    expect(after.stderr).toContain('530');
    expect(await ok('ftp.user.remove', { username: 'carol' })).toMatchObject({ changed: false });
    expect(agent.output()).not.toContain(password);
    const { items } = await server.client.listCommands({ node: NODE, limit: 200 } as never);
    const applies = items.filter((i) => i.type === 'ftp.user.apply');
    expect(applies.length).toBeGreaterThan(2);
    expect(JSON.stringify(items)).not.toContain(password);
    expect(applies.filter((c) => (c.payload as any).password === '[redacted]').length).toBeGreaterThan(0);
    expect(journalPayloads()).not.toContain(password);
  });
});
