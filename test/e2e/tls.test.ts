import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFileSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent as UndiciAgent, fetch as undiciFetch } from 'undici';
import { StewardClient } from '@steward/client';
import { caPin } from '@steward/protocol/node';
import { ensureCa, signWithCa } from '../../packages/server/src/pki/ca.js';
import { newRsaKey, newSerial } from '../../packages/server/src/pki/keys.js';
import { STEWARD_BIN, startAgentProcess, startServerProcess, tempDir, waitOnline, type AgentProc, type Proc, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const execFileP = promisify(execFile);
/** `steward …` as an operator runs it; rejects with its output when it exits non-zero. */
async function run(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  try {
    return (await execFileP(process.execPath, [STEWARD_BIN, ...args], { env, timeout: 60_000 })).stdout;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`steward ${args.join(' ')}: ${err.stderr ?? ''}${err.stdout ?? ''}${err.message}`);
  }
}

const unchecked = new UndiciAgent({ connect: { rejectUnauthorized: false } });
const modeOf = (path: string) => statSync(path).mode & 0o777;

async function exited(proc: Proc, what: string, timeoutMs = 60_000): Promise<number> {
  return waitFor(`${what} to exit`, () => proc.child.exitCode !== null && { code: proc.child.exitCode }, { timeoutMs }).then((r) => r.code);
}

async function token(server: ServerProc): Promise<string> {
  return (await server.client.createEnrollmentToken({ ttlSeconds: 600, uses: 1 })).token;
}

async function nodeNames(server: ServerProc): Promise<string[]> {
  return (await server.client.listNodes()).items.map((n) => n.name);
}

/** A command that goes over the link and back: the agent is really connected and trusted. */
async function ping(server: ServerProc, node: string): Promise<void> {
  const { command } = await server.client.submitCommand({ node, type: 'sys.ping', payload: {} });
  const done = await server.client.getCommand(command.id, { wait: 30 });
  expect(done.state).toBe('succeeded');
}

describe('TLS with a pinned CA (real handshakes)', { timeout: 120_000 }, () => {
  let server: ServerProc;
  let pin: string;
  const agents: AgentProc[] = [];
  const agent = (o: Parameters<typeof startAgentProcess>[0]) => {
    const a = startAgentProcess(o);
    agents.push(a);
    return a;
  };

  beforeAll(async () => {
    server = await startServerProcess({ args: ['--tls'] });
    pin = (await server.client.serverCa()).sha256!;
  }, 90_000);
  afterAll(async () => {
    for (const a of agents) await a.kill('SIGKILL');
    await server?.kill();
  });

  it('serves https on loopback with --tls, with its own CA and keys in 0600 files, and shows the pin', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = await server.client.serverCa();
    expect(ca).toMatchObject({ tls: true, requireClientCert: false });
    expect(ca.pem).toBe(readFileSync(join(server.dataDir, 'tls/ca.crt'), 'utf8'));
    expect(ca.sha256).toBe(caPin(ca.pem!));
    expect(ca.sha256).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(modeOf(join(server.dataDir, 'tls/ca.key'))).toBe(0o600);
    expect(modeOf(join(server.dataDir, 'tls/server.key'))).toBe(0o600);
    // Without the CA nothing trusts it: plain fetch (system roots) fails the handshake.
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it('an agent with the right pin enrolls, keeps the CA and its client key, gets online and runs a command', async () => {
    const a = agent({ server: server.url, token: await token(server), name: 'pinned', args: ['--ca-sha256', pin] });
    await waitOnline(server, 'pinned', a);
    await ping(server, 'pinned');
    expect(caPin(readFileSync(join(a.dataDir, 'server-ca.pem')))).toBe(pin);
    expect(modeOf(join(a.dataDir, 'client.key'))).toBe(0o600);
    const cert = new (await import('node:crypto')).X509Certificate(readFileSync(join(a.dataDir, 'client.crt')));
    const node = await server.client.getNode('pinned');
    expect(cert.subject).toContain(`CN=${node.id}`);
    expect(cert.checkIssued(new (await import('node:crypto')).X509Certificate(readFileSync(join(server.dataDir, 'tls/ca.crt'))))).toBe(true);
  });

  it('the CLI trusts the local CA by itself, takes --ca-file for a remote one, and prints the pin in the agent line', async () => {
    const env = { ...process.env, STEWARD_DATA_DIR: server.dataDir, STEWARD_SERVER: '', STEWARD_TOKEN: '' };
    const created = await run(['enroll', 'create', '--label', 'env=tls'], env);
    expect(created).toContain(`steward agent --server ${server.url} --enroll-token `);
    expect(created).toContain(`--ca-sha256 ${pin}`);
    const caFile = join(server.dataDir, 'tls/ca.crt');
    const elsewhere = { ...process.env, STEWARD_DATA_DIR: tempDir('steward-empty-') };
    const remote = await run(['--server', server.url, '--token', server.token, '--ca-file', caFile, 'enroll', 'create', '--json'], elsewhere);
    expect(JSON.parse(remote)).toMatchObject({ caSha256: pin, agentCommand: expect.stringContaining(`--ca-sha256 ${pin}`) });
    // Without the CA the same request fails the handshake instead of trusting anyone.
    await expect(run(['--server', server.url, '--token', server.token, 'nodes', 'ls'], elsewhere)).rejects.toThrow(/certificate/);
  });

  it('a wrong pin is refused before the token is sent: the agent says why, no node is made', async () => {
    const before = await nodeNames(server);
    const wrong = `sha256:${'ab'.repeat(32)}`;
    const a = agent({ server: server.url, token: await token(server), name: 'wrong-pin', args: ['--ca-sha256', wrong] });
    expect(await exited(a, 'the agent with a wrong pin')).not.toBe(0);
    expect(a.output()).toContain(`did not present the CA pinned by --ca-sha256 ${wrong}`);
    expect(a.output()).toContain(pin);
    expect(existsSync(join(a.dataDir, 'server-ca.pem'))).toBe(false);
    expect(existsSync(join(a.dataDir, 'identity.json'))).toBe(false);
    expect(await nodeNames(server)).toEqual(before);
  });

  it('an agent given neither pin nor CA refuses https to a non-loopback host; loopback https without a pin fails verification', async () => {
    const far = agent({ server: 'https://10.0.0.5:7070', token: 'x', args: [] });
    expect(await exited(far, 'the unpinned agent')).not.toBe(0);
    expect(far.output()).toContain('refusing to connect to https://10.0.0.5:7070');
    expect(far.output()).toContain('--ca-sha256');
    // On loopback the policy lets it try, with the system's roots, which do not know our CA.
    const before = await nodeNames(server);
    const near = agent({ server: server.url, token: await token(server), name: 'unpinned' });
    expect(await exited(near, 'the unpinned loopback agent')).not.toBe(0);
    expect(near.output()).toMatch(/TLS certificate failed verification: .*(self-signed|unable to|issuer)/i);
    expect(await nodeNames(server)).toEqual(before);
  });

  it('plain http:// to a non-loopback address is refused without dialing unless --insecure', async () => {
    const a = agent({ server: 'http://10.0.0.5:7070', token: 'x' });
    expect(await exited(a, 'the http agent')).toBe(1);
    expect(a.output()).toContain('refusing to connect to http://10.0.0.5:7070: plain http:// to a non-loopback host');
    expect(a.output()).toContain('--insecure');
    // With --insecure the policy lets it dial (nothing listens there: it fails to reach it instead).
    const b = agent({ server: 'http://127.0.0.1:9', token: 'x', args: ['--insecure'] });
    expect(await exited(b, 'the insecure agent')).not.toBe(0);
    expect(b.output()).toContain('cannot reach http://127.0.0.1:9');
  });

  it('a stored CA that differs from a later pin is refused, not replaced', async () => {
    const dataDir = tempDir('steward-agent-');
    writeFileSync(join(dataDir, 'server-ca.pem'), readFileSync(join(server.dataDir, 'tls/ca.crt')));
    const a = agent({ server: server.url, dataDir, token: await token(server), args: ['--ca-sha256', `sha256:${'cd'.repeat(32)}`] });
    expect(await exited(a, 'the agent with a stale CA')).not.toBe(0);
    expect(a.output()).toContain('is not the one --ca-sha256 names');
  });
});

describe('an operator certificate that has expired', { timeout: 120_000 }, () => {
  let server: ServerProc;
  let agentProc: AgentProc | undefined;

  afterAll(async () => {
    await agentProc?.kill('SIGKILL');
    await server?.kill();
  });

  it('is refused by an agent that pinned its CA; no node is made', async () => {
    const pkiDir = tempDir('steward-pki-');
    const { ca } = ensureCa(pkiDir);
    const { keyPem, publicKey } = newRsaKey();
    const cert = forge.pki.createCertificate();
    cert.publicKey = publicKey;
    cert.serialNumber = newSerial();
    cert.validity.notBefore = new Date(Date.now() - 40 * 86_400_000);
    cert.validity.notAfter = new Date(Date.now() - 10 * 86_400_000);
    cert.setSubject([{ name: 'commonName', value: '127.0.0.1' }]);
    const pem = signWithCa(ca, cert, [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }]);
    writeFileSync(join(pkiDir, 'expired.crt'), pem + ca.certPem);
    writeFileSync(join(pkiDir, 'expired.key'), keyPem, { mode: 0o600 });
    server = await startServerProcess({ args: ['--tls-cert', join(pkiDir, 'expired.crt'), '--tls-key', join(pkiDir, 'expired.key')] });
    // The test client trusts that CA, and refuses the expired certificate as well.
    await expect(server.client.serverCa()).rejects.toThrow(/expired/);
    // So the operator's side of this test uses a client that does not check certificates.
    const lax = new StewardClient({
      baseUrl: server.url,
      token: server.token,
      fetch: ((url: string, init: object) => undiciFetch(url, { ...init, dispatcher: unchecked } as never)) as never,
    });
    expect((await lax.serverCa()).sha256).toBe(caPin(ca.certPem));
    const { token: t } = await lax.createEnrollmentToken({ ttlSeconds: 600 });
    agentProc = startAgentProcess({ server: server.url, token: t, name: 'late', args: ['--ca-sha256', caPin(ca.certPem)] });
    expect(await exited(agentProc, 'the agent facing an expired certificate')).not.toBe(0);
    expect(agentProc.output()).toContain('certificate has expired');
    expect((await lax.listNodes()).items).toEqual([]);
    expect(server.output()).toContain('has EXPIRED: agents will refuse it');
  });
});

describe('mTLS required (--require-client-cert)', { timeout: 120_000 }, () => {
  let server: ServerProc;
  let pin: string;
  const agents: AgentProc[] = [];

  beforeAll(async () => {
    server = await startServerProcess({ args: ['--tls', '--require-client-cert'] });
    pin = (await server.client.serverCa()).sha256!;
  }, 90_000);
  afterAll(async () => {
    for (const a of agents) await a.kill('SIGKILL');
    await server?.kill();
  });

  it('lets in an enrolled agent with its certificate, refuses one without it and one with another node\'s', async () => {
    expect((await server.client.serverCa()).requireClientCert).toBe(true);
    const first = startAgentProcess({ server: server.url, token: await token(server), name: 'with-cert', args: ['--ca-sha256', pin] });
    agents.push(first);
    await waitOnline(server, 'with-cert', first);
    await ping(server, 'with-cert');
    const second = startAgentProcess({ server: server.url, token: await token(server), name: 'other', args: ['--ca-sha256', pin] });
    agents.push(second);
    await waitOnline(server, 'other', second);
    await second.kill();
    await first.kill();

    // Without its certificate (the files gone), the enrolled node is refused at the link.
    rmSync(join(first.dataDir, 'client.crt'));
    rmSync(join(first.dataDir, 'client.key'));
    const bare = startAgentProcess({ server: server.url, dataDir: first.dataDir, args: ['--ca-sha256', pin] });
    agents.push(bare);
    await waitFor('the refusal in the agent log', () => bare.output().includes('this control plane requires a client certificate'), { timeoutMs: 60_000 });
    expect((await server.client.getNode('with-cert')).connected).toBe(false);
    await bare.kill();

    // With another node's certificate: the CN names the other node, refused as well.
    copyFileSync(join(second.dataDir, 'client.crt'), join(first.dataDir, 'client.crt'));
    copyFileSync(join(second.dataDir, 'client.key'), join(first.dataDir, 'client.key'));
    const borrowed = startAgentProcess({ server: server.url, dataDir: first.dataDir });
    agents.push(borrowed);
    await waitFor('the CN refusal in the agent log', () => borrowed.output().includes('client certificate is for'), { timeoutMs: 60_000 });
    expect((await server.client.getNode('with-cert')).connected).toBe(false);
    expect(server.output()).toContain('client certificate belongs to another node');

    // The agent's HTTP routes (artifacts) hold to the same rule: a credential alone downloads nothing.
    const ca = (await server.client.serverCa()).pem!;
    const credentialOf = (dir: string) => (JSON.parse(readFileSync(join(dir, 'identity.json'), 'utf8')) as { credential: string }).credential;
    const artifact = `${server.url}/agent/v1/artifacts/${'0'.repeat(64)}`;
    const bareHttp = new UndiciAgent({ connect: { ca } });
    const certHttp = new UndiciAgent({ connect: { ca, cert: readFileSync(join(second.dataDir, 'client.crt')), key: readFileSync(join(second.dataDir, 'client.key')) } });
    try {
      const refused = await undiciFetch(artifact, { dispatcher: bareHttp, headers: { authorization: `Bearer ${credentialOf(second.dataDir)}` } });
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('requires a client certificate');
      // With the node's own certificate the request gets past authentication: the artifact is simply not there.
      const through = await undiciFetch(artifact, { dispatcher: certHttp, headers: { authorization: `Bearer ${credentialOf(second.dataDir)}` } });
      expect(through.status).toBe(404);
    } finally {
      await bareHttp.close();
      await certHttp.close();
    }
  });
});
