import { execFile } from 'node:child_process';
import { createServer, type Server, type ServerResponse, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpBodyTooLargeError, HttpTimeoutError, MAX_TEXT_BYTES, request } from '../../src/link/http.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../..', import.meta.url));
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

async function serve(answer: (req: Seen, res: ServerResponse) => void): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const s = { method: req.method!, url: req.url!, headers: req.headers, body };
      seen.push(s);
      answer(s, res);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen };
}

describe('the agent HTTP requests (node:http, link/http.ts)', () => {
  it('sends method, headers and a string or streamed body, and reads status, headers and text', async () => {
    const site = await serve((req, res) => res.writeHead(201, { 'x-echo': req.method }).end(`got ${req.body}`));
    const a = await request(`${site.url}/a`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' });
    expect(a).toMatchObject({ status: 201, ok: true });
    expect(a.headers['x-echo']).toBe('POST');
    expect(await a.text()).toBe('got {"x":1}');
    const b = await request(`${site.url}/b`, { method: 'PUT', body: Readable.from([Buffer.from('one '), Buffer.from('two')]) });
    expect(await b.text()).toBe('got one two');
    expect(site.seen.map((s) => [s.method, s.url, s.headers['content-type']])).toEqual([
      ['POST', '/a', 'application/json'],
      ['PUT', '/b', undefined],
    ]);
  });

  it('reads a whole body only up to its bound: a longer one is an error, not the agent\'s memory', async () => {
    const site = await serve((_req, res) => res.writeHead(200).end('x'.repeat(MAX_TEXT_BYTES + 1)));
    await expect((await request(`${site.url}/big`)).text()).rejects.toBeInstanceOf(HttpBodyTooLargeError);
    await expect((await request(`${site.url}/big`)).json()).rejects.toThrow(/over 1048576 bytes/);
    expect(await (await request(`${site.url}/big`)).text(MAX_TEXT_BYTES + 1)).toHaveLength(MAX_TEXT_BYTES + 1);
  });

  it('follows a GET redirect (dropping the credential for another origin) unless told manual', async () => {
    const other = await serve((_req, res) => res.writeHead(200).end('elsewhere'));
    const site = await serve((req, res) => {
      if (req.url === '/same') return void res.writeHead(302, { location: '/final' }).end();
      if (req.url === '/away') return void res.writeHead(307, { location: `${other.url}/there` }).end();
      res.writeHead(200).end('final');
    });
    const headers = { authorization: 'Bearer secret' };
    const same = await request(`${site.url}/same`, { headers });
    expect([same.status, await same.text()]).toEqual([200, 'final']);
    expect(site.seen.map((s) => [s.url, s.headers.authorization])).toEqual([
      ['/same', 'Bearer secret'],
      ['/final', 'Bearer secret'],
    ]);
    const away = await request(`${site.url}/away`, { headers });
    expect(await away.text()).toBe('elsewhere');
    expect(other.seen[0]).toMatchObject({ url: '/there' });
    expect(other.seen[0]!.headers.authorization).toBeUndefined();
    const manual = await request(`${site.url}/same`, { redirect: 'manual' });
    expect([manual.status, manual.headers.location]).toEqual([302, '/final']);
    manual.discard();
  });

  it('fails with node’s error code on a refused connection, and with HttpTimeoutError past timeoutMs', async () => {
    const closed = await serve(() => {});
    const s = servers.pop()!;
    await new Promise<void>((r) => s.close(() => r()));
    await expect(request(closed.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const hung = await serve(() => {}); // never answers
    const e = await request(hung.url, { timeoutMs: 150 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HttpTimeoutError);
    expect((e as Error).message).toContain('within 150 ms');
    const aborted = await request(hung.url, { signal: AbortSignal.abort() }).catch((x: unknown) => x);
    expect((aborted as Error).name).toBe('AbortError');
  });

  // Node's fetch, Response and Headers load its bundled undici (~10 MiB of RSS, ~20 MiB once a
  // request ran) and keep it: the agent's request paths must not touch them (issue 17).
  it('enrollment, downloads, artifact transfers, health checks and probes never load node’s fetch (undici)', async () => {
    const script = `
      import { createServer } from 'node:http';
      import { mkdtempSync, writeFileSync } from 'node:fs';
      import { createHash } from 'node:crypto';
      import { tmpdir } from 'node:os';
      import { join } from 'node:path';
      import { enroll } from './packages/agent/src/enroll.js';
      import { downloadUrl, ServerLink } from './packages/agent/src/link/server-link.js';
      import { checkOnce } from './packages/agent/src/modules/service/health.js';
      import { probeHttp } from './packages/agent/src/modules/monitor/probes/http.js';
      const undici = () => process.moduleLoadList.filter((m) => m.includes('undici'));
      const bytes = Buffer.from('artifact');
      const sha = createHash('sha256').update(bytes).digest('hex');
      const srv = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          if (req.url === '/agent/v1/enroll') return res.writeHead(201).end(JSON.stringify({ nodeId: 'n1' }));
          if (req.url === '/moved') return res.writeHead(302, { location: '/file' }).end();
          if (req.url.startsWith('/agent/v1/artifacts?')) return res.writeHead(201).end(JSON.stringify({ sha256: sha, size: bytes.length }));
          res.writeHead(200).end(bytes);
        });
      }).listen(0, '127.0.0.1');
      await new Promise((r) => srv.once('listening', r));
      const url = 'http://127.0.0.1:' + srv.address().port;
      const dir = mkdtempSync(join(tmpdir(), 'steward-http-'));
      const results = [];
      results.push((await enroll(url, { token: 't', labels: {}, inventory: {} })).nodeId);
      results.push((await downloadUrl(url + '/moved', join(dir, 'a'), { sha256: sha })).size);
      const link = new ServerLink(url, { nodeId: 'n1', name: 'n', credential: 'c', server: url, enrolledAt: 0 });
      results.push((await link.downloadArtifact(sha, join(dir, 'b'))).size);
      writeFileSync(join(dir, 'up'), bytes);
      results.push((await link.uploadArtifact(join(dir, 'up'), { name: 'up', sha256: sha })).size);
      results.push((await checkOnce({ http: { url: url + '/file' } }, dir)).ok);
      results.push((await probeHttp({ url: url + '/file', timeoutMs: 2000 })).ok);
      const before = undici();
      new Headers(); // the check itself: this must show up
      console.log(JSON.stringify({ results, before, after: undici() }));
      srv.close();
    `;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO });
    const out = JSON.parse(stdout.trim().split('\n').pop()!) as { results: unknown[]; before: string[]; after: string[] };
    expect(out.results).toEqual(['n1', 8, 8, 8, true, true]);
    expect(out.before).toEqual([]);
    expect(out.after.length).toBeGreaterThan(0);
  });
});
