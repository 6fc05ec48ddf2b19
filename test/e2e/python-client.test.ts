import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, REPO, startAgentProcess, startServerProcess, tempDir, waitOnline, type AgentProc, type ServerProc } from '../support/processes.js';
import { NGINX_BIN } from '../support/private-nginx.js';
import { spawnGroup, type GroupProc } from '../support/process-group.js';
import { ArtifactServer, killServices, packTarGz, removeTestCgroups, sha256, SLEEPER } from '../support/service-artifacts.js';
import { waitFor } from '../support/wait.js';

/**
 * The Python client (clients/python) against a real control plane with two real agents: its
 * unittest suite drives every resource (commands, jobs, tasks, services, events, errors,
 * paging, https through a private CA), and every ```python block of docs/python-client.md runs.
 */

/** `STEWARD_TEST_PYTHON=python3.9` runs the same against another interpreter. */
const PYTHON = process.env.STEWARD_TEST_PYTHON ?? 'python3';
const CLIENT_DIR = join(REPO, 'clients/python');
const DOC = join(REPO, 'docs/python-client.md');
const python = spawnSync(PYTHON, ['--version'], { encoding: 'utf8' });
const NO_PYTHON = python.error ? `${PYTHON} is not installed (${python.error.message})` : null;

const NODES = ['web-1', 'web-2'];
const PARENT = `steward-e2e-py-${randomBytes(4).toString('hex')}`;
const AGENT_CONFIG = `service:\n  cgroupParent: ${PARENT}\n  pollIntervalMs: 100\n`;

function run(args: string[], env: NodeJS.ProcessEnv, cwd = CLIENT_DIR): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, args, { cwd, env: { ...process.env, PYTHONPATH: CLIENT_DIR, PYTHONDONTWRITEBYTECODE: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** A CA, and a certificate it signed for 127.0.0.1 (extensions as strict TLS stacks want them). */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const ssl = (args: string[]) => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  };
  writeFileSync(join(dir, 'leaf.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\n');
  ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=steward pyclient test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', 'ca.key', '-out', 'ca.pem']);
  ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'leaf.key', '-out', 'leaf.csr']);
  ssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'leaf.ext', '-out', 'leaf.pem']);
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'leaf.pem'), key: join(dir, 'leaf.key') };
}

/** nginx terminating TLS in front of the control plane, as a production deployment would. */
async function startTlsProxy(upstream: string): Promise<{ url: string; ca: string; proc: GroupProc }> {
  const dir = tempDir('steward-pyclient-tls-');
  const { ca, cert, key } = makeCertificates(dir);
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
worker_processes 1;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    location / {
      proxy_pass ${upstream};
      proxy_http_version 1.1;
      proxy_buffering off;
      proxy_read_timeout 120s;
    }
  }
}
`,
  );
  const proc = spawnGroup(NGINX_BIN, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log'), '-g', 'daemon off;']);
  const url = `https://127.0.0.1:${port}`;
  await waitFor(`nginx with TLS on ${port}`, async () => {
    if (proc.child.exitCode !== null) throw new Error(`nginx did not start: ${proc.output()}`);
    const r = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', ca], { input: '', encoding: 'utf8', timeout: 5000 });
    return r.stdout.includes('Verify return code: 0');
  });
  return { url, ca, proc };
}

function pythonBlocks(): { line: number; code: string }[] {
  const lines = readFileSync(DOC, 'utf8').split('\n');
  const out: { line: number; code: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```python\s*$/.test(lines[i]!)) continue;
    const start = i;
    while (++i < lines.length && !/^```\s*$/.test(lines[i]!));
    out.push({ line: start + 1, code: lines.slice(start + 1, i).join('\n') });
  }
  return out;
}

describe.skipIf(NO_PYTHON !== null)(`Python client against a real control plane${NO_PYTHON ? ` (skipped: ${NO_PYTHON})` : ''}`, { timeout: 400_000 }, () => {
  let server: ServerProc;
  const agents: AgentProc[] = [];
  let artifacts: ArtifactServer;
  let tls: Awaited<ReturnType<typeof startTlsProxy>>;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    server = await startServerProcess();
    for (const name of NODES) {
      const { token } = await server.client.createEnrollmentToken({ ttlSeconds: 600, uses: 1 });
      const agent = startAgentProcess({ server: server.url, token, name, labels: ['role=web'], config: AGENT_CONFIG });
      agents.push(agent);
      await waitOnline(server, name, agent);
    }
    artifacts = await new ArtifactServer().start();
    const bytes = await packTarGz({ run: SLEEPER });
    tls = await startTlsProxy(server.url);
    env = {
      STEWARD_TEST_URL: server.url,
      STEWARD_TEST_TOKEN: server.token,
      STEWARD_TEST_NODES: NODES.join(','),
      STEWARD_TEST_SELECTOR: 'role=web',
      STEWARD_TEST_ARTIFACT_URL: artifacts.put('sleeper.tar.gz', bytes),
      STEWARD_TEST_ARTIFACT_SHA256: sha256(bytes),
      STEWARD_TEST_HTTPS_URL: tls.url,
      STEWARD_TEST_HTTPS_CA_FILE: tls.ca,
      // What docs/python-client.md's examples read.
      STEWARD_URL: server.url,
      STEWARD_TOKEN: server.token,
      STEWARD_HTTPS_URL: tls.url,
      STEWARD_CA_FILE: tls.ca,
      ARTIFACT_URL: artifacts.put('web.tar.gz', bytes),
      ARTIFACT_SHA256: sha256(bytes),
    };
  }, 240_000);

  afterAll(async () => {
    for (const a of agents) killServices(a.dataDir);
    await Promise.allSettled([...agents.map((a) => a.kill()), server?.kill(), tls?.proc.stop(), artifacts?.stop()]);
    removeTestCgroups(PARENT);
  });

  it('python3 -m unittest over clients/python/tests passes, nothing skipped', async () => {
    const r = await run(['-m', 'unittest', 'discover', '-s', 'tests', '-v'], env);
    const ran = /^Ran (\d+) tests? in /m.exec(r.out);
    expect(r.code, r.out.slice(-8000)).toBe(0);
    expect(Number(ran?.[1]), r.out.slice(-8000)).toBeGreaterThanOrEqual(35);
    expect(r.out).toMatch(/^OK$/m);
    expect(r.out).not.toMatch(/skipped/);
    // The live suites ran, not only the local ones.
    for (const name of ['NodesTest', 'CommandsTest', 'JobsTest', 'TasksTest', 'ServicesTest', 'EventsTest', 'ErrorsTest', 'HttpsTest']) {
      // Python 3.9 writes `(test_live.NodesTest)`, later ones `(test_live.NodesTest.test_…)`.
      expect(r.out).toMatch(new RegExp(`\\(test_live\\.${name}(\\.\\w+)?\\) \\.\\.\\. ok`));
    }
  });

  it('the ```python examples of docs/python-client.md run as written, in order, as one session', async () => {
    const blocks = pythonBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    // Later examples use what earlier ones made (`client`, a command id), as a reader's session would.
    const script = blocks.map((b) => `# docs/python-client.md:${b.line}\n${b.code}`).join('\n\n');
    const r = await run(['-c', script], env, tempDir('steward-pyclient-doc-'));
    expect(r.code, `the examples exit ${r.code}\n--- script ---\n${script}\n--- output ---\n${r.out.slice(-4000)}`).toBe(0);
  });
});
