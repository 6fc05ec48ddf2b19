import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentError } from '../../src/core/errors.js';
import { TransferError } from '../../src/link/checksummed-file.js';
import { downloadUrl, LinkError } from '../../src/link/server-link.js';
import { tempDir, testLink } from '../modules/context.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  length: string | undefined;
  body: Buffer;
}

/** A loopback HTTP server that records each request (with its body) and answers with `answer`. */
async function serve(answer: (req: Seen, res: ServerResponse) => void): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = { method: req.method!, url: req.url!, authorization: req.headers.authorization, length: req.headers['content-length'], body: Buffer.concat(chunks) };
      seen.push(s);
      answer(s, res);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen };
}

async function rejection(p: Promise<unknown>): Promise<AgentError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  if (!(e instanceof AgentError)) throw new Error(`expected an AgentError, got ${String(e)}`);
  return e;
}

describe('server link', () => {
  it('downloads an artifact with the node credential and places it only when its SHA-256 matches', async () => {
    const good = randomBytes(100_000);
    const store = await serve((req, res) => {
      // The store serves other bytes under the second name, as a tampered store would.
      res.writeHead(200).end(req.url.endsWith(sha(good)) ? good : Buffer.from('tampered'));
    });
    const link = testLink(store.url, 'cred-1');
    const dir = await tempDir();
    expect(await link.downloadArtifact(sha(good), join(dir, 'a'))).toEqual({ size: good.length });
    expect(readFileSync(join(dir, 'a')).equals(good)).toBe(true);
    expect(store.seen[0]).toMatchObject({ method: 'GET', url: `/agent/v1/artifacts/${sha(good)}`, authorization: 'Bearer cred-1' });

    const wanted = 'a'.repeat(64);
    const e = await rejection(link.downloadArtifact(wanted, join(dir, 'b')));
    expect(e).toBeInstanceOf(TransferError);
    expect(e.code).toBe('checksum_mismatch');
    expect(e.details).toEqual({ expected: wanted, actual: sha(Buffer.from('tampered')) });
    // Nothing under the name, and no temp file left beside it.
    expect(readdirSync(dir)).toEqual(['a']);
  });

  it('stops a download past maxBytes with too_large and leaves nothing', async () => {
    const big = randomBytes(300_000);
    const store = await serve((_req, res) => res.writeHead(200).end(big));
    const dir = await tempDir();
    const e = await rejection(testLink(store.url, 'c').downloadArtifact(sha(big), join(dir, 'x'), { maxBytes: 1000 }));
    expect(e.code).toBe('too_large');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports the store refusing, the control plane unreachable, and a missing credential by code', async () => {
    const store = await serve((_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'no such artifact' } })));
    const dir = await tempDir();
    const refused = await rejection(testLink(store.url, 'c').downloadArtifact('b'.repeat(64), join(dir, 'x')));
    expect(refused).toBeInstanceOf(LinkError);
    expect(refused.code).toBe('artifact_store_error');
    expect(refused.message).toMatch(/answered 404: no such artifact/);
    expect(refused.details).toEqual({ status: 404 });

    const closed = await serve(() => {});
    await new Promise<void>((r) => servers.pop()!.close(() => r()));
    const unreachable = await rejection(testLink(closed.url, 'c').downloadArtifact('b'.repeat(64), join(dir, 'x')));
    expect(unreachable.code).toBe('control_plane_unreachable');
    expect(unreachable.message).toContain(closed.url);

    const before = store.seen.length;
    const anonymous = await rejection(testLink(store.url, null).downloadArtifact('b'.repeat(64), join(dir, 'x')));
    expect(anonymous.code).toBe('not_enrolled');
    expect(store.seen).toHaveLength(before); // nothing was sent without a credential
    expect(readdirSync(dir)).toEqual([]);
  });

  it('uploads a file as a stream with its length and checks what the store recorded', async () => {
    const dir = await tempDir();
    const file = join(dir, 'up.bin');
    const bytes = randomBytes(200_000);
    writeFileSync(file, bytes);
    let record: (body: Buffer) => { sha256: string; size: number } = (b) => ({ sha256: sha(b), size: b.length });
    const store = await serve((req, res) => res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(record(req.body))));
    const link = testLink(store.url, 'cred-2');
    expect(await link.uploadArtifact(file, { name: 'up.bin', sha256: sha(bytes) })).toEqual({ sha256: sha(bytes), size: bytes.length });
    const put = store.seen[0]!;
    expect(put).toMatchObject({ method: 'PUT', authorization: 'Bearer cred-2', length: String(bytes.length) });
    expect(new URL(put.url, store.url).searchParams.get('sha256')).toBe(sha(bytes));
    expect(put.body.equals(bytes)).toBe(true);

    // A store that records other bytes than were sent is refused.
    record = () => ({ sha256: 'c'.repeat(64), size: 1 });
    const wrong = await rejection(link.uploadArtifact(file, { name: 'up.bin', sha256: sha(bytes) }));
    expect(wrong.code).toBe('artifact_store_error');

    // A file that no longer hashes to what the caller computed is caught on the way out.
    record = (b) => ({ sha256: sha(b), size: b.length });
    const stale = await rejection(link.uploadArtifact(file, { name: 'up.bin', sha256: 'd'.repeat(64) }));
    expect(stale).toBeInstanceOf(TransferError);
    expect(stale.code).toBe('checksum_mismatch');
  });

  it('downloads from a plain URL without the credential, and names the URL without its query', async () => {
    const body = Buffer.from('#!/bin/sh\n');
    const site = await serve((req, res) => (req.url.startsWith('/ok') ? res.writeHead(200).end(body) : res.writeHead(404).end()));
    const dir = await tempDir();
    expect(await downloadUrl(`${site.url}/ok?token=secret`, join(dir, 'f'), { sha256: sha(body) })).toEqual({ sha256: sha(body), size: body.length });
    expect(site.seen[0]!.authorization).toBeUndefined();
    const missing = await rejection(downloadUrl(`${site.url}/gone?token=secret`, join(dir, 'g'), { sha256: sha(body) }));
    expect(missing.code).toBe('download_failed');
    expect(missing.message).toMatch(/HTTP 404/);
    expect(missing.message).not.toContain('secret');
    expect(existsSync(join(dir, 'g'))).toBe(false);
  });
});
