import { execFile } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_ARTIFACTS_PATH, AGENT_CONNECT_PATH, AGENT_ENROLL_PATH, newId, type SigningKey } from '@steward/protocol';
import { commandFields, keyIdOf, keySetFields, signFields } from '@steward/protocol/node';
import { freshPgDatabase } from '../support/pg.js';
import { addAgent, heartbeatsAfter, startAgentProcess, startServerProcess, STEWARD_BIN, tempDir, type AgentProc, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const HOUR = 3_600_000;
const execFileP = promisify(execFile);

interface TestKey {
  id: string;
  privateKey: KeyObject;
  pinned: SigningKey;
}

function makeKey(notAfter: number | null = null): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const id = keyIdOf(publicKey);
  return { id, privateKey, pinned: { id, publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), notAfter } };
}

/**
 * A control plane as an attacker (or a test) plays it: the agent dials it, is welcomed, and is
 * then sent hand-made dispatches. Everything the agent sends back is kept in `inbox`.
 */
class FakeControlPlane {
  readonly inbox: any[] = [];
  private socket: WebSocket | null = null;
  private readonly http: Server;
  private readonly wss = new WebSocketServer({ noServer: true });

  constructor(private readonly nodeId: string) {
    this.http = createServer((_req, res) => res.writeHead(404).end());
    this.http.on('upgrade', (req, sock, head) => {
      if (req.url !== AGENT_CONNECT_PATH) return sock.destroy();
      this.wss.handleUpgrade(req, sock, head, (ws) => {
        this.socket = ws;
        ws.on('message', (d) => {
          const msg = JSON.parse(String(d));
          this.inbox.push(msg);
          if (msg.type === 'hello') this.send({ type: 'welcome', nodeId: this.nodeId, name: 'victim', heartbeatIntervalMs: 60_000, serverTime: Date.now() });
          if (msg.type === 'command.result') this.send({ type: 'result.ack', commandIds: [msg.commandId] });
        });
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.http.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  send(msg: unknown): void {
    this.socket!.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** The results the agent sent for `commandId`, waiting until there are `count`. */
  async results(commandId: string, count = 1): Promise<any[]> {
    return waitFor(
      () => `${count} result(s) for ${commandId}; agent sent ${JSON.stringify(this.inbox.filter((m) => m.type !== 'heartbeat'))}`,
      () => {
        const got = this.inbox.filter((m) => m.type === 'command.result' && m.commandId === commandId);
        return got.length >= count && got;
      },
      { timeoutMs: 20_000, intervalMs: 50 },
    );
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise((r) => this.http.close(r));
  }
}

/** A dispatch as the control plane would sign it, with any field overridable to forge one. */
function dispatch(
  key: TestKey,
  o: { nodeId: string; payload: unknown; id?: string; issuedAt?: number; expiresAt?: number; signedPayload?: unknown; signedFor?: string },
) {
  const id = o.id ?? newId('cmd');
  const issuedAt = o.issuedAt ?? Date.now();
  const expiresAt = o.expiresAt ?? issuedAt + HOUR;
  const nodeId = o.signedFor ?? o.nodeId;
  const value = signFields(
    key.privateKey,
    'command',
    commandFields({ nodeId, commandId: id, type: 'exec.run', payload: o.signedPayload ?? o.payload, issuedAt, expiresAt, keyId: key.id }),
  );
  return {
    type: 'command.dispatch',
    command: { id, type: 'exec.run', payload: o.payload, timeoutMs: 10_000, createdAt: issuedAt },
    signature: { keyId: key.id, nodeId, issuedAt, expiresAt, value },
  };
}

describe('an agent refuses commands its control plane did not sign', { timeout: 120_000 }, () => {
  const nodeId = 'node_victim';
  const pinned = makeKey();
  let fake: FakeControlPlane;
  let agent: AgentProc;
  let dataDir: string;
  let effect: string;
  const appendEffect = (word: string) => ({ command: 'sh', args: ['-c', `echo ${word} >> ${effect}`] });
  const effectLines = () => (existsSync(effect) ? readFileSync(effect, 'utf8').trim().split('\n') : []);
  const pinnedIds = () => (JSON.parse(readFileSync(join(dataDir, 'identity.json'), 'utf8')).signingKeys.keys as SigningKey[]).map((k) => k.id);

  beforeAll(async () => {
    fake = new FakeControlPlane(nodeId);
    const server = await fake.listen();
    dataDir = tempDir('steward-agent-signed-');
    effect = join(dataDir, 'effect.txt');
    mkdirSync(dataDir, { recursive: true });
    // Enrolled already, with the fake's key pinned (as enrollment would have pinned the real one).
    writeFileSync(
      join(dataDir, 'identity.json'),
      JSON.stringify({ nodeId, name: 'victim', credential: `${nodeId}.secret`, server, enrolledAt: Date.now(), signingKeys: { issuedAt: 1, keys: [pinned.pinned] } }),
      { mode: 0o600 },
    );
    agent = startAgentProcess({ server, dataDir });
    await waitFor('the agent to say hello', () => fake.inbox.some((m) => m.type === 'hello'), { timeoutMs: 60_000 });
  }, 90_000);

  afterAll(async () => {
    await agent?.kill();
    await fake?.close();
  });

  it('refuses unsigned, forged, tampered, misaddressed, expired and future commands, with a code each, running none', async () => {
    const forger = makeKey();
    const cases: Array<[string, Record<string, unknown>]> = [];
    const unsigned = dispatch(pinned, { nodeId, payload: appendEffect('unsigned') }) as Record<string, unknown>;
    delete unsigned.signature;
    cases.push(['signature_missing', unsigned]);
    cases.push(['signature_invalid', dispatch(forger, { nodeId, payload: appendEffect('forged') })]);
    cases.push(['signature_invalid', dispatch(pinned, { nodeId, payload: appendEffect('tampered'), signedPayload: { command: 'true' } })]);
    cases.push(['command_wrong_node', dispatch(pinned, { nodeId, signedFor: 'node_other', payload: appendEffect('other-node') })]);
    cases.push(['command_expired', dispatch(pinned, { nodeId, payload: appendEffect('expired'), issuedAt: Date.now() - 3 * HOUR, expiresAt: Date.now() - 2 * HOUR })]);
    cases.push(['command_not_yet_valid', dispatch(pinned, { nodeId, payload: appendEffect('future'), issuedAt: Date.now() + HOUR })]);
    cases.push(['signature_invalid', dispatch(pinned, { nodeId, payload: appendEffect('too-long'), expiresAt: Date.now() + 48 * HOUR })]);
    for (const [, msg] of cases) fake.send(msg);
    for (const [code, msg] of cases) {
      const [result] = await fake.results((msg.command as { id: string }).id);
      expect(result, code).toMatchObject({ state: 'failed', error: { code } });
    }
    expect(effectLines()).toEqual([]);
    expect(agent.output()).toContain('refused a command');
  });

  it('runs a properly signed command once; an identical replay runs nothing and is logged as replayed', async () => {
    const msg = dispatch(pinned, { nodeId, payload: appendEffect('once') });
    fake.send(msg);
    const [first] = await fake.results(msg.command.id);
    expect(first.state).toBe('succeeded');
    fake.send(msg);
    // The repeat is answered with the stored result: the marker that it was handled.
    const [, again] = await fake.results(msg.command.id, 2);
    expect(again).toMatchObject({ state: 'succeeded', startedAt: first.startedAt });
    expect(effectLines()).toEqual(['once']);
    await waitFor('the replay in the agent log', () => agent.output().includes('command_replayed'), { timeoutMs: 5000 });
  });

  it('a refusal journals nothing: the properly signed command with that id still runs', async () => {
    const id = newId('cmd');
    fake.send(dispatch(makeKey(), { nodeId, id, payload: appendEffect('retry') }));
    const [refused] = await fake.results(id);
    expect(refused.error.code).toBe('signature_invalid');
    fake.send(dispatch(pinned, { nodeId, id, payload: appendEffect('retry') }));
    const [, ran] = await fake.results(id, 2);
    expect(ran.state).toBe('succeeded');
    expect(effectLines()).toContain('retry');
  });

  it('takes a rotated key set only when a pinned key signed it; the old key works in its window, then is refused', async () => {
    // A key set signed by a stranger is ignored: a command signed by that stranger is still refused.
    const stranger = makeKey();
    const bogus = { issuedAt: Date.now(), keys: [stranger.pinned] };
    fake.send({ type: 'signing.keys', ...bogus, signatures: [{ keyId: stranger.id, value: signFields(stranger.privateKey, 'signing-keys', keySetFields(bogus)) }] });
    const probe = dispatch(stranger, { nodeId, payload: appendEffect('stranger') });
    fake.send(probe);
    expect((await fake.results(probe.command.id))[0].error.code).toBe('signature_invalid');
    expect(pinnedIds()).toEqual([pinned.id]);

    // The real rotation: both keys, the old one retired in a few seconds, signed by the old one.
    const next = makeKey();
    const notAfter = Date.now() + 4000;
    const set = { issuedAt: Date.now(), keys: [{ ...pinned.pinned, notAfter }, next.pinned] };
    const beforeRotation = dispatch(pinned, { nodeId, payload: appendEffect('old-key-in-window') });
    fake.send({ type: 'signing.keys', ...set, signatures: [{ keyId: pinned.id, value: signFields(pinned.privateKey, 'signing-keys', keySetFields(set)) }] });
    await waitFor('the new key pinned', () => pinnedIds().includes(next.id), { timeoutMs: 10_000 });
    fake.send(beforeRotation);
    expect((await fake.results(beforeRotation.command.id))[0].state).toBe('succeeded');
    const withNew = dispatch(next, { nodeId, payload: appendEffect('new-key') });
    fake.send(withNew);
    expect((await fake.results(withNew.command.id))[0].state).toBe('succeeded');

    await waitFor('the old key to retire', () => Date.now() > notAfter + 100, { timeoutMs: 10_000, intervalMs: 100 });
    const late = dispatch(pinned, { nodeId, payload: appendEffect('old-key-retired') });
    fake.send(late);
    const [refused] = await fake.results(late.command.id);
    expect(refused.error).toMatchObject({ code: 'signature_invalid', message: expect.stringContaining('retired') });
    expect(effectLines()).not.toContain('old-key-retired');
    expect(effectLines()).toEqual(expect.arrayContaining(['old-key-in-window', 'new-key']));
  });
});

describe('signing, rotation and revocation against the real control plane', { timeout: 180_000 }, () => {
  let server: ServerProc;
  let agent: AgentProc;
  const identity = () => JSON.parse(readFileSync(join(agent.dataDir, 'identity.json'), 'utf8')) as { credential: string; signingKeys: { keys: SigningKey[] } };
  const probe = (credential: string) =>
    fetch(`${server.url}${AGENT_ARTIFACTS_PATH}/${'0'.repeat(64)}`, { headers: { authorization: `Bearer ${credential}` } });
  const cli = async (...args: string[]) =>
    (await execFileP(process.execPath, [STEWARD_BIN, ...args], { env: { ...process.env, STEWARD_SERVER: server.url, STEWARD_TOKEN: server.token } })).stdout;
  const run = async (node: string) => {
    const { command } = await server.client.submitCommand({ node, type: 'exec.run', payload: { command: 'echo', args: ['signed'] } });
    return server.client.getCommand(command.id, { wait: 20 });
  };

  beforeAll(async () => {
    server = await startServerProcess();
    agent = await addAgent(server, 'signed-1');
  }, 120_000);

  afterAll(async () => {
    await agent?.kill();
    await server?.kill();
  });

  it('keeps its key 0600 in the data dir; the agent pinned it at enrollment and runs what it signs', async () => {
    expect(statSync(join(server.dataDir, 'command-signing.key')).mode & 0o777).toBe(0o600);
    const keys = await server.client.listSigningKeys();
    expect(identity().signingKeys.keys.map((k) => k.id)).toEqual([keys.current]);
    expect((await run('signed-1')).state).toBe('succeeded');
  });

  it('rotates the signing key without re-enrolling: the agent pins the new set and runs commands signed by the new key', async () => {
    const before = (await server.client.listSigningKeys()).current;
    const rotated = JSON.parse(await cli('server', 'rotate-signing-key', '--overlap', '10m', '--json')) as { keyId: string; notAfter: number };
    expect(rotated).toMatchObject({ retiredKeyIds: [before], announcedTo: 1 });
    expect(rotated.notAfter).toBeGreaterThan(Date.now() + 500_000);
    await waitFor('the agent to pin the new key', () => identity().signingKeys.keys.some((k) => k.id === rotated.keyId), { timeoutMs: 10_000 });
    expect(identity().signingKeys.keys.find((k) => k.id === before)?.notAfter).toBe(rotated.notAfter);
    expect((await server.client.listSigningKeys()).current).toBe(rotated.keyId);
    expect((await run('signed-1')).state).toBe('succeeded');
  });

  it('rotates a node credential: stored by the agent, the old one refused after, the new one works across a reconnect (where an unpinned identity pins on first use)', async () => {
    const old = identity().credential;
    expect((await probe(old)).status).not.toBe(401);
    const { credentialId } = await server.client.rotateNodeCredential('signed-1');
    expect(credentialId).toMatch(/^cred_/);
    await waitFor('the agent to store its new credential', () => identity().credential !== old, { timeoutMs: 10_000 });
    await waitFor('the old credential to be refused', async () => (await probe(old)).status === 401, { timeoutMs: 10_000 });
    expect((await probe(identity().credential)).status).not.toBe(401);
    await agent.kill();
    // Also the upgrade path: an identity enrolled before commands were signed has no keys pinned.
    const path = join(agent.dataDir, 'identity.json');
    const { signingKeys: _, ...unpinned } = identity();
    writeFileSync(path, JSON.stringify(unpinned), { mode: 0o600 });
    agent = startAgentProcess({ server: server.url, dataDir: agent.dataDir });
    await heartbeatsAfter(server, 'signed-1', Date.now(), 60_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${agent.output()}`);
    });
    // It pinned the welcome's keys on first use, said so, and runs what they sign.
    expect(identity().signingKeys.keys.map((k) => k.id).sort()).toEqual((await server.client.listSigningKeys()).items.map((k) => k.id).sort());
    expect(agent.output()).toContain('on first use');
    expect((await run('signed-1')).state).toBe('succeeded');
  });

  it('revokes a node: its socket closes, its reconnects are refused with node_revoked, it shows as revoked', async () => {
    expect(await cli('nodes', 'revoke', 'signed-1')).toContain('revoked signed-1');
    expect((await server.client.getNode('signed-1')).revokedAt).toBeGreaterThan(0);
    await waitFor('the agent to be refused', () => agent.output().includes('node_revoked'), { timeoutMs: 20_000 });
    const res = await probe(identity().credential);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('node_revoked');
    await waitFor('the node to be disconnected', async () => !(await server.client.getNode('signed-1')).connected, { timeoutMs: 10_000 });
    await expect(server.client.rotateNodeCredential('signed-1')).rejects.toMatchObject({ code: 'node_revoked' });
  });

  it('a deleted enrollment token cannot enroll', async () => {
    const { id, token } = await server.client.createEnrollmentToken({});
    await server.client.deleteEnrollmentToken(id);
    const res = await fetch(server.url + AGENT_ENROLL_PATH, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    expect(res.status).toBe(401);
  });
});

describe('replicas share one signing key', { timeout: 120_000 }, () => {
  it('a replica whose data dir lacks the key refuses to start instead of making a second one', async () => {
    const db = await freshPgDatabase();
    const a = await startServerProcess({ db: db.url });
    try {
      const err = await startServerProcess({ db: db.url, token: a.token }).then(
        async (b) => {
          await b.kill();
          return null;
        },
        (e: Error) => e,
      );
      expect(err?.message).toContain('the store already has command signing key');
      expect(err?.message).toContain('copy command-signing.key');
      expect((await a.client.listSigningKeys()).items).toHaveLength(1);
    } finally {
      await a.kill();
      await db.drop();
    }
  });
});
