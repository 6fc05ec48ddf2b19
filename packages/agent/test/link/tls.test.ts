import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caPin } from '@steward/protocol/node';
import { ensureCa } from '../../../server/src/pki/ca.js';
import { ensureServerCert } from '../../../server/src/pki/server-cert.js';
import { LinkError, ServerLink } from '../../src/link/server-link.js';
import { checkServerUrl, fetchPinnedCa, resolveTrust, SERVER_CA_FILE, TrustError } from '../../src/link/tls.js';
import { tempDir } from '../modules/context.js';

describe('the server URL policy', () => {
  it('refuses plain http:// to a non-loopback host, saying why and how to fix it', () => {
    let err: unknown;
    try {
      checkServerUrl('http://10.0.0.5:7070', { trusted: false });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TrustError);
    expect(err).toMatchObject({ code: 'insecure_server_url' });
    expect((err as Error).message).toMatch(/http:\/\/10\.0\.0\.5:7070: plain http:\/\/ .*--ca-sha256.*--ca-file.*--insecure/);
    // A pin does not make plain HTTP safe: it is still refused.
    expect(() => checkServerUrl('http://10.0.0.5:7070', { trusted: true })).toThrow(/plain http/);
    expect(() => checkServerUrl('http://steward.example.com', { trusted: false })).toThrow(TrustError);
  });

  it('refuses https:// to a non-loopback host without a pinned or given CA', () => {
    expect(() => checkServerUrl('https://10.0.0.5:7070', { trusted: false })).toThrow(/needs the control plane's CA pinned/);
    expect(() => checkServerUrl('https://10.0.0.5:7070', { trusted: true })).not.toThrow();
  });

  it('allows loopback in any form, and anything with --insecure', () => {
    for (const url of ['http://127.0.0.1:7070', 'http://127.3.2.1:1', 'http://localhost:7070', 'http://[::1]:7070', 'https://127.0.0.1:7070']) {
      expect(() => checkServerUrl(url, { trusted: false })).not.toThrow();
    }
    expect(() => checkServerUrl('http://10.0.0.5:7070', { trusted: false, insecure: true })).not.toThrow();
  });

  it('resolveTrust refuses before dialing, and rejects a malformed pin', async () => {
    const dataDir = await tempDir();
    await expect(resolveTrust({ server: 'http://10.0.0.5:7070', dataDir })).rejects.toMatchObject({ code: 'insecure_server_url' });
    await expect(resolveTrust({ server: 'https://127.0.0.1:1', dataDir, caSha256: 'sha256:12' })).rejects.toThrow(/not sha256:<64 hex digits>/);
    await expect(resolveTrust({ server: 'http://127.0.0.1:1', dataDir, caSha256: 'ab'.repeat(32) })).rejects.toThrow(/needs an https:\/\/ server URL/);
    // --insecure with nothing to check against: like `curl -k`, the certificate is not checked.
    expect(await resolveTrust({ server: 'http://10.0.0.5:7070', dataDir, insecure: true })).toEqual({ rejectUnauthorized: false });
    expect(await resolveTrust({ server: 'https://127.0.0.1:1', dataDir })).toEqual({ rejectUnauthorized: true });
  });

  it('holds every URL of a server list to the policy, not only the first', async () => {
    const dataDir = await tempDir();
    await expect(resolveTrust({ server: 'http://127.0.0.1:1', servers: ['http://127.0.0.1:1', 'http://10.0.0.5:7070'], dataDir })).rejects.toThrow(/10\.0\.0\.5:7070: plain http/);
    expect(await resolveTrust({ server: 'http://127.0.0.1:1', servers: ['http://127.0.0.1:1', 'http://[::1]:2'], dataDir })).toEqual({ rejectUnauthorized: true });
  });
});

describe('trust over a real TLS server', () => {
  let server: Server;
  let url: string;
  let caPem: string;
  const payload = Buffer.from('artifact bytes over TLS');
  const sha = createHash('sha256').update(payload).digest('hex');

  beforeAll(async () => {
    const pki = await tempDir();
    const { ca } = ensureCa(pki);
    caPem = ca.certPem;
    const cert = ensureServerCert(pki, ca, ['127.0.0.1']);
    server = createServer({ key: cert.keyPem, cert: cert.chainPem }, (_req, res) => res.end(payload));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('finds the pinned CA in the handshake and keeps it; a wrong pin is refused', async () => {
    expect(caPin(await fetchPinnedCa(new URL(url), caPin(caPem)))).toBe(caPin(caPem));
    await expect(fetchPinnedCa(new URL(url), `sha256:${'0'.repeat(64)}`)).rejects.toMatchObject({ code: 'ca_pin_mismatch' });
    const dataDir = await tempDir();
    const trust = await resolveTrust({ server: url, dataDir, caSha256: caPin(caPem) });
    expect(caPin(trust.ca!)).toBe(caPin(caPem));
    expect(existsSync(join(dataDir, SERVER_CA_FILE))).toBe(true);
    expect(caPin(readFileSync(join(dataDir, SERVER_CA_FILE)))).toBe(caPin(caPem));
    // With a list, the pinned CA comes from the first https server that answers.
    const listDir = await tempDir();
    const down = 'https://127.0.0.1:1';
    const fromList = await resolveTrust({ server: down, servers: [down, url], dataDir: listDir, caSha256: caPin(caPem) });
    expect(caPin(fromList.ca!)).toBe(caPin(caPem));
  });

  it('artifact downloads go through the pinned CA, and fail without it', async () => {
    const dataDir = await tempDir();
    const identity = { nodeId: 'node_t', name: 't', credential: 'node_t.secret', server: url, enrolledAt: 0 };
    const trusted = new ServerLink(url, identity, await resolveTrust({ server: url, dataDir, caSha256: caPin(caPem) }));
    const dest = join(dataDir, 'a.bin');
    await trusted.downloadArtifact(sha, dest);
    expect(readFileSync(dest)).toEqual(payload);
    const untrusted = new ServerLink(url, identity, { rejectUnauthorized: true });
    const err = await untrusted.downloadArtifact(sha, join(dataDir, 'b.bin')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LinkError);
    expect((err as Error).message).toMatch(/certificate/);
  });
});
