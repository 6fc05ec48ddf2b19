import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_ARTIFACTS_PATH, AGENT_ENROLL_PATH, type Inventory } from '@steward/protocol';
import { StewardClient } from '@steward/client';
import { startServerProcess, STEWARD_BIN, tempDir, type ServerProc } from '../support/processes.js';
import { rawInventory } from '../support/raw-agent.js';

const run = promisify(execFile);
const MAX = 20 * 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const inventory = rawInventory('raw', { modules: ['sys'], commandTypes: [{ type: 'sys.ping', module: 'sys', safeToRerun: true }] });

/** Every stored artifact file (not the temp dir), as `<sha>`. */
function storedFiles(server: ServerProc): string[] {
  const dir = join(server.dataDir, 'artifacts');
  const out: string[] = [];
  for (const d of readdirSync(dir)) {
    if (d === 'tmp') continue;
    out.push(...readdirSync(join(dir, d)));
  }
  return out.sort();
}
const tempFiles = (server: ServerProc) => readdirSync(join(server.dataDir, 'artifacts', 'tmp'));

/** A body of `total` bytes sent chunked (no Content-Length), so the server only learns its size by reading. */
function chunked(total: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return this.push(null);
      const n = Math.min(1024 * 1024, total - sent);
      sent += n;
      this.push(randomBytes(n));
    },
  });
}

describe('artifact store over HTTP', { timeout: 60_000 }, () => {
  let server: ServerProc;
  let dir: string;

  beforeAll(async () => {
    server = await startServerProcess({ env: { STEWARD_ARTIFACT_MAX_BYTES: String(MAX) } });
    dir = tempDir('steward-artifacts-');
  }, 60_000);
  afterAll(async () => {
    await server?.kill();
  });

  it('uploads and downloads a multi-MB file byte-identical, far past the JSON body limit, de-duplicating a repeat', async () => {
    const data = randomBytes(12 * 1024 * 1024 + 123);
    const file = join(dir, 'big.bin');
    writeFileSync(file, data);
    const up = await server.client.putArtifactFile(file, { name: 'big.bin' });
    expect(up.created).toBe(true);
    expect(up.artifact).toMatchObject({ sha256: sha256(data), size: data.length, name: 'big.bin' });
    expect(up.artifact.createdBy).toMatch(/^token:/);
    expect(storedFiles(server)).toEqual([sha256(data)]);

    const out = join(dir, 'big.out');
    await server.client.downloadArtifact(up.artifact.sha256, out);
    expect(readFileSync(out).equals(data)).toBe(true);

    const raw = await fetch(`${server.url}/api/v1/artifacts/${up.artifact.sha256}`, { headers: { authorization: `Bearer ${server.token}` } });
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-length')).toBe(String(data.length));
    expect(raw.headers.get('etag')).toBe(`"${sha256(data)}"`);
    expect(Buffer.from(await raw.arrayBuffer()).equals(data)).toBe(true);
    const cached = await fetch(`${server.url}/api/v1/artifacts/${up.artifact.sha256}`, {
      headers: { authorization: `Bearer ${server.token}`, 'if-none-match': `"${sha256(data)}"` },
    });
    expect(cached.status).toBe(304);

    const again = await server.client.putArtifact(Readable.from([data.subarray(0, 5), data.subarray(5)]), { name: 'renamed' });
    expect(again.created).toBe(false);
    expect(again.artifact.name).toBe('big.bin');
    expect(storedFiles(server)).toEqual([sha256(data)]);
    expect(tempFiles(server)).toEqual([]);
  });

  it('lists, describes and deletes; a deleted artifact is gone from disk and answers 404', async () => {
    const data = Buffer.from('hello artifacts\n');
    const { artifact } = await server.client.putArtifact(Readable.from([data]), { name: 'hello.txt', length: data.length });
    expect((await server.client.listArtifacts()).items.map((a) => a.sha256)).toContain(artifact.sha256);
    expect((await server.client.listArtifacts({ name: 'hello.txt' })).items).toEqual([artifact]);
    expect(await server.client.artifactMeta(artifact.sha256)).toEqual(artifact);
    await server.client.deleteArtifact(artifact.sha256);
    expect(storedFiles(server)).not.toContain(artifact.sha256);
    await expect(server.client.artifactMeta(artifact.sha256)).rejects.toMatchObject({ status: 404, code: 'not_found' });
    await expect(server.client.getArtifact(artifact.sha256)).rejects.toMatchObject({ status: 404 });
    await expect(server.client.deleteArtifact(artifact.sha256)).rejects.toMatchObject({ status: 404 });
  });

  it('refuses an upload over the size limit with 413 and keeps nothing, with or without a Content-Length', async () => {
    const before = storedFiles(server);
    const file = join(dir, 'too-big.bin');
    writeFileSync(file, randomBytes(MAX + 1));
    await expect(server.client.putArtifactFile(file)).rejects.toMatchObject({ status: 413, code: 'payload_too_large' });
    await expect(server.client.putArtifact(chunked(MAX + 3 * 1024 * 1024))).rejects.toMatchObject({ status: 413, code: 'payload_too_large' });
    expect(storedFiles(server)).toEqual(before);
    expect(tempFiles(server)).toEqual([]);
    // Exactly at the limit is fine.
    const exact = await server.client.putArtifact(chunked(MAX));
    expect(exact.artifact.size).toBe(MAX);
    await server.client.deleteArtifact(exact.artifact.sha256);
  });

  it('refuses a body whose SHA-256 is not the one asked for, storing nothing', async () => {
    const before = storedFiles(server);
    const data = randomBytes(3 * 1024 * 1024);
    const err = await server.client.putArtifact(Readable.from([data]), { sha256: sha256(Buffer.from('other')) }).catch((e) => e);
    expect(err).toMatchObject({ status: 422, code: 'checksum_mismatch' });
    expect(err.details.actual).toBe(sha256(data));
    expect(storedFiles(server)).toEqual(before);
    expect(tempFiles(server)).toEqual([]);
    await expect(server.client.artifactMeta(sha256(data))).rejects.toMatchObject({ status: 404 });
    const ok = await server.client.putArtifact(Readable.from([data]), { sha256: sha256(data) });
    expect(ok.artifact.sha256).toBe(sha256(data));
  });

  it('validates the query and refuses readers and anonymous callers', async () => {
    const bad = await fetch(`${server.url}/api/v1/artifacts?name=a%2Fb`, { method: 'PUT', headers: { authorization: `Bearer ${server.token}` }, body: 'x' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.details.issues[0].field).toBe('querystring.name');
    const badSha = await fetch(`${server.url}/api/v1/artifacts/nothex`, { headers: { authorization: `Bearer ${server.token}` } });
    expect(badSha.status).toBe(400);
    const anon = await fetch(`${server.url}/api/v1/artifacts`, { method: 'PUT', body: 'x' });
    expect(anon.status).toBe(401);
    const { token } = await server.client.createToken({ name: 'r', role: 'reader' });
    const reader = new StewardClient({ baseUrl: server.url, token });
    await expect(reader.putArtifact(Readable.from([Buffer.from('x')]))).rejects.toMatchObject({ status: 403 });
    expect(Array.isArray((await reader.listArtifacts()).items)).toBe(true);
  });

  it('agent routes take only a node credential', async () => {
    const { token } = await server.client.createEnrollmentToken({});
    const enrolled = await fetch(server.url + AGENT_ENROLL_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, name: 'artifact-node', inventory }),
    });
    const { credential, nodeId } = (await enrolled.json()) as { credential: string; nodeId: string };
    const data = randomBytes(2 * 1024 * 1024);
    const put = (auth?: string) =>
      fetch(server.url + AGENT_ARTIFACTS_PATH + '?name=from-agent', {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream', ...(auth ? { authorization: auth } : {}) },
        body: data,
      });
    expect((await put()).status).toBe(401);
    expect((await put(`Bearer ${server.token}`)).status).toBe(401);
    expect((await put(`Bearer ${credential.slice(0, -3)}abc`)).status).toBe(401);
    expect(storedFiles(server)).not.toContain(sha256(data));
    const ok = await put(`Bearer ${credential}`);
    expect(ok.status).toBe(201);
    expect(await ok.json()).toMatchObject({ sha256: sha256(data), size: data.length, createdBy: `node:${nodeId}` });
    const get = await fetch(`${server.url}${AGENT_ARTIFACTS_PATH}/${sha256(data)}`, { headers: { authorization: `Bearer ${credential}` } });
    expect(get.status).toBe(200);
    expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);
    const anonGet = await fetch(`${server.url}${AGENT_ARTIFACTS_PATH}/${sha256(data)}`);
    expect(anonGet.status).toBe(401);
  });

  it("a node reads only what it uploaded or was sent a command about; a reader downloads no artifact bytes", async () => {
    const withBackup: Inventory = { ...inventory, modules: ['backup'], commandTypes: [{ type: 'backup.verify', module: 'backup', safeToRerun: true }] };
    const enroll = async (name: string) => {
      const { token } = await server.client.createEnrollmentToken({});
      const res = await fetch(server.url + AGENT_ENROLL_PATH, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, name, inventory: withBackup }) });
      return (await res.json()) as { credential: string; nodeId: string };
    };
    const a = await enroll('archive-owner');
    const b = await enroll('archive-thief');
    // Node A's backup archive, uploaded with A's credential (as backup.run does).
    const archive = randomBytes(64 * 1024);
    const up = await fetch(`${server.url}${AGENT_ARTIFACTS_PATH}?name=backup.tar.gz`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${a.credential}` }, body: archive });
    expect(up.status).toBe(201);
    const fetchAs = (credential: string) => fetch(`${server.url}${AGENT_ARTIFACTS_PATH}/${sha256(archive)}`, { headers: { authorization: `Bearer ${credential}` } });
    expect((await fetchAs(a.credential)).status).toBe(200);
    // B never was sent a command naming it: the same answer as for an artifact that does not exist.
    const stolen = await fetchAs(b.credential);
    expect(stolen.status).toBe(404);
    expect(((await stolen.json()) as any).error.code).toBe('not_found');
    // A restore of A's archive onto B names it in a command to B: now B may fetch it.
    await server.client.submitCommand({ node: b.nodeId, type: 'backup.verify', payload: { backupId: 'backup_x', archiveSha256: sha256(archive) } });
    const granted = await fetchAs(b.credential);
    expect(granted.status).toBe(200);
    expect(Buffer.from(await granted.arrayBuffer()).equals(archive)).toBe(true);

    const { token } = await server.client.createToken({ name: 'archive-reader', role: 'reader' });
    const asReader = await fetch(`${server.url}/api/v1/artifacts/${sha256(archive)}`, { headers: { authorization: `Bearer ${token}` } });
    expect(asReader.status).toBe(403);
    expect(((await asReader.json()) as any).error.code).toBe('forbidden');
    const reader = new StewardClient({ baseUrl: server.url, token });
    expect((await reader.artifactMeta(sha256(archive))).sha256).toBe(sha256(archive));
    const asOperator = await fetch(`${server.url}/api/v1/artifacts/${sha256(archive)}`, { headers: { authorization: `Bearer ${server.token}` } });
    expect(asOperator.status).toBe(200);
    await asOperator.arrayBuffer();
  });

  it('is described in the OpenAPI document', async () => {
    const doc = (await server.client.openApi()) as { paths: Record<string, Record<string, any>> };
    expect(Object.keys(doc.paths['/api/v1/artifacts']!)).toEqual(expect.arrayContaining(['get', 'put']));
    expect(doc.paths['/api/v1/artifacts']!.put.requestBody.content['application/octet-stream']).toBeDefined();
    expect(Object.keys(doc.paths['/api/v1/artifacts/{sha256}']!)).toEqual(expect.arrayContaining(['get', 'delete']));
    expect(doc.paths['/api/v1/artifacts/{sha256}/meta']!.get).toBeDefined();
    expect(doc.paths[`${AGENT_ARTIFACTS_PATH}/{sha256}`]!.get).toBeDefined();
    expect(doc.paths[AGENT_ARTIFACTS_PATH]!.put).toBeDefined();
  });

  it('steward artifacts put | ls | get | rm', async () => {
    const env = { ...process.env, STEWARD_SERVER: server.url, STEWARD_TOKEN: server.token };
    const cli = (...args: string[]) => run(process.execPath, [STEWARD_BIN, 'artifacts', ...args], { env, maxBuffer: 64 * 1024 * 1024 });
    const data = randomBytes(3 * 1024 * 1024);
    const file = join(dir, 'cli.bin');
    writeFileSync(file, data);
    const put = await cli('put', file, '--json');
    const artifact = JSON.parse(put.stdout);
    expect(artifact).toMatchObject({ sha256: sha256(data), name: 'cli.bin' });
    expect((await cli('ls')).stdout).toContain(sha256(data));
    const out = join(dir, 'cli.out');
    await cli('get', sha256(data), '-o', out);
    expect(readFileSync(out).equals(data)).toBe(true);
    expect(statSync(out).size).toBe(data.length);
    const stdout = await run(process.execPath, [STEWARD_BIN, 'artifacts', 'get', sha256(data)], { env, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
    expect(Buffer.compare(stdout.stdout, data)).toBe(0);
    await cli('rm', sha256(data));
    const missing = await cli('get', sha256(data), '-o', join(dir, 'none')).catch((e) => e);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('does not exist');
    const badSha = await cli('get', 'xyz').catch((e) => e);
    expect(badSha.code).not.toBe(0);
  });
});
