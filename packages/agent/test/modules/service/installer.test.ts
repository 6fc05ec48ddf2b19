import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LinkError } from '../../../src/link/server-link.js';
import { TransferError } from '../../../src/link/checksummed-file.js';
import { Installer } from '../../../src/modules/service/installer.js';
import { testLink } from '../context.js';
import { readLog, rotateIfLarge } from '../../../src/modules/service/logs.js';
import { packTarGz, sha256 } from '../../../../../test/support/service-artifacts.js';

const dirs: string[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function temp(): string {
  const d = mkdtempSync(join(tmpdir(), 'steward-inst-'));
  dirs.push(d);
  return d;
}

/** Stands in for the control plane's agent artifact route: GET /agent/v1/artifacts/:sha256 with the node credential. */
async function fakeStore(files: Map<string, Buffer>, credential: string): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? '-'}`);
    const m = /^\/agent\/v1\/artifacts\/([a-f0-9]{64})$/.exec(req.url ?? '');
    if (req.headers.authorization !== `Bearer ${credential}`) return void res.writeHead(401).end();
    const body = m ? files.get(m[1]!) : undefined;
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200).end(body);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen };
}

describe('installer', () => {
  it('downloads from the artifact store with the node credential, unpacks, and switches current atomically', async () => {
    const tgz = await packTarGz({ run: '#!/bin/sh\necho hi\n' });
    const sha = sha256(tgz);
    const store = await fakeStore(new Map([[sha, tgz]]), 'cred-123');
    const dir = temp();
    const inst = new Installer(join(dir, 'services'), testLink(store.url, 'cred-123'));
    const res = await inst.install('svc', '1.0', { artifactSha256: sha, sha256: sha });
    expect(res).toEqual({ dir: join(dir, 'services', 'svc', '1.0'), reused: false });
    expect(store.seen).toEqual([`GET /agent/v1/artifacts/${sha} Bearer cred-123`]);
    expect(readFileSync(join(res.dir, 'run'), 'utf8')).toContain('echo hi');
    expect(statSync(join(res.dir, 'run')).mode & 0o111).not.toBe(0);
    // Same version and checksum again: nothing downloaded.
    expect((await inst.install('svc', '1.0', { artifactSha256: sha, sha256: sha })).reused).toBe(true);
    expect(store.seen).toHaveLength(1);
    await inst.switchCurrent('svc', '1.0');
    expect(readlinkSync(join(dir, 'services', 'svc', 'current'))).toBe('1.0');
    await inst.switchCurrent('svc', '2.0');
    expect(await inst.currentVersion('svc')).toBe('2.0');
  });

  it('a wrong credential or a missing file fails the download and leaves nothing behind', async () => {
    const tgz = await packTarGz({ run: 'x' });
    const sha = sha256(tgz);
    const store = await fakeStore(new Map([[sha, tgz]]), 'right');
    const dir = temp();
    const inst = new Installer(join(dir, 'services'), testLink(store.url, 'wrong'));
    const e = await inst.install('svc', '1.0', { artifactSha256: sha, sha256: sha }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LinkError);
    expect((e as LinkError).code).toBe('artifact_store_error');
    expect((e as Error).message).toMatch(/answered 401/);
    expect(existsSync(join(dir, 'services', 'svc', '1.0'))).toBe(false);
  });

  it('a single-file artifact is placed executable under its URL name', async () => {
    const body = Buffer.from('#!/bin/sh\necho single\n');
    const server = createServer((_req, res) => res.end(body));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/bin/tool.sh?token=secret`;
    const dir = temp();
    const inst = new Installer(join(dir, 'services'), testLink());
    const res = await inst.install('one', '1', { url, sha256: sha256(body) });
    expect(readFileSync(join(res.dir, 'tool.sh'), 'utf8')).toBe(body.toString());
    expect(statSync(join(res.dir, 'tool.sh')).mode & 0o777).toBe(0o755);
    // A mismatch says so without echoing the URL's query (it may hold a token).
    const e = (await inst.install('one', '2', { url, sha256: 'f'.repeat(64) }).catch((x: unknown) => x)) as TransferError;
    expect(e).toBeInstanceOf(TransferError);
    expect(e.code).toBe('checksum_mismatch');
    expect(e.message).not.toContain('secret');
    expect(existsSync(join(res.dir, '..', '2'))).toBe(false);
  });
});

describe('service logs', () => {
  it('rotates by copy-and-truncate past the size limit, keeping N old parts', () => {
    const dir = temp();
    const log = join(dir, 'output.log');
    writeFileSync(log, 'a'.repeat(100));
    expect(rotateIfLarge(log, 200, 2)).toBe(false);
    writeFileSync(log, 'b'.repeat(300));
    expect(rotateIfLarge(log, 200, 2)).toBe(true);
    writeFileSync(log, 'c'.repeat(300), { flag: 'a' });
    expect(rotateIfLarge(log, 200, 2)).toBe(true);
    writeFileSync(log, 'd'.repeat(300), { flag: 'a' });
    expect(rotateIfLarge(log, 200, 2)).toBe(true);
    expect(statSync(log).size).toBe(0);
    expect(readFileSync(`${log}.1`, 'utf8')).toBe('d'.repeat(300));
    expect(readFileSync(`${log}.2`, 'utf8')).toBe('c'.repeat(300));
    expect(existsSync(`${log}.3`)).toBe(false);
  });

  it('reads the tail, then follows by offset, and starts over after a rotation', () => {
    const dir = temp();
    const log = join(dir, 'output.log');
    writeFileSync(log, 'line1\nline2\nline3\n');
    const tail = readLog(log, undefined, 6);
    expect(tail).toEqual({ data: 'line3\n', offset: 18, size: 18 });
    writeFileSync(log, 'line4\n', { flag: 'a' });
    expect(readLog(log, tail.offset, 1000)).toEqual({ data: 'line4\n', offset: 24, size: 24 });
    writeFileSync(log, 'new\n');
    expect(readLog(log, 24, 1000)).toEqual({ data: 'new\n', offset: 4, size: 4 });
    expect(readLog(join(dir, 'missing.log'), undefined, 10)).toEqual({ data: '', offset: 0, size: 0 });
  });
});
