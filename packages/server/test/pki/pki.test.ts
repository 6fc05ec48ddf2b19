import { X509Certificate } from 'node:crypto';
import { execSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { caPin, parseCaPin } from '@steward/protocol/node';
import { caFiles, ensureCa } from '../../src/pki/ca.js';
import { signNodeCsr } from '../../src/pki/client-cert.js';
import { newRsaKey } from '../../src/pki/keys.js';
import { ensureServerCert, serverCertFiles, serverNames } from '../../src/pki/server-cert.js';
import { serverTls, tlsEnabled } from '../../src/pki/server-tls.js';

const dir = () => mkdtempSync(join(tmpdir(), 'steward-pki-'));
const modeOf = (p: string) => statSync(p).mode & 0o777;
const quiet = pino({ level: 'silent' });

describe('the control plane CA', () => {
  it('is made once with its key 0600, then read back unchanged', () => {
    const d = dir();
    const first = ensureCa(d);
    expect(first.created).toBe(true);
    expect(modeOf(caFiles(d).key)).toBe(0o600);
    const x = new X509Certificate(first.ca.certPem);
    expect(x.ca).toBe(true);
    expect(x.checkIssued(x)).toBe(true);
    const again = ensureCa(d);
    expect(again.created).toBe(false);
    expect(again.ca.certPem).toBe(first.ca.certPem);
  });

  it('has a pin that names its public key (the hash openssl gives) and parses in both spellings', () => {
    const { ca } = ensureCa(dir());
    const file = join(dir(), 'ca.crt');
    writeFileSync(file, ca.certPem);
    // The same hash as `openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256`.
    const hex = execSync(`openssl x509 -in ${file} -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -hex`, { encoding: 'utf8' }).trim().split(' ').pop()!;
    expect(caPin(ca.certPem)).toBe(`sha256:${hex}`);
    expect(parseCaPin(hex.toUpperCase())).toBe(`sha256:${hex}`);
    expect(parseCaPin(`sha256:${hex}`)).toBe(`sha256:${hex}`);
    expect(parseCaPin('sha256:abc')).toBeNull();
  });
});

describe('the server certificate', () => {
  it('is signed by the CA for every name agents may dial, key 0600, and kept while it fits', () => {
    const d = dir();
    const { ca } = ensureCa(d);
    const names = serverNames('10.1.2.3', ['steward.example.com']);
    expect(names).toEqual(expect.arrayContaining(['127.0.0.1', '::1', 'localhost', '10.1.2.3', 'steward.example.com']));
    const made = ensureServerCert(d, ca, names);
    expect(made.renewed).toBe(true);
    expect(modeOf(serverCertFiles(d).key)).toBe(0o600);
    const x = new X509Certificate(readFileSync(serverCertFiles(d).cert));
    expect(x.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(x.checkHost('steward.example.com')).toBe('steward.example.com');
    expect(x.checkIP('10.1.2.3')).toBe('10.1.2.3');
    expect(x.checkIP('::1')).toBe('::1');
    expect(x.checkIP('10.9.9.9')).toBeUndefined();
    // The chain ends with the CA, so a pinned agent finds it in the handshake.
    expect(made.chainPem.endsWith(ca.certPem)).toBe(true);
    expect(ensureServerCert(d, ca, names).renewed).toBe(false);
    // A new name (--tls-san) or a certificate near expiry makes a new one.
    expect(ensureServerCert(d, ca, [...names, 'other.example.com']).renewed).toBe(true);
    expect(ensureServerCert(d, ca, [...names, 'other.example.com'], Date.now() + 380 * 86_400_000).renewed).toBe(true);
  });
});

describe('when TLS is on', () => {
  it('is off on loopback by default, on elsewhere, and off-loopback plain HTTP takes --insecure', () => {
    expect(tlsEnabled({}, '127.0.0.1')).toBe(false);
    expect(tlsEnabled({}, '::1')).toBe(false);
    expect(tlsEnabled({ tls: true }, '127.0.0.1')).toBe(true);
    expect(tlsEnabled({}, '0.0.0.0')).toBe(true);
    expect(tlsEnabled({}, '10.0.0.5')).toBe(true);
    expect(() => tlsEnabled({ tls: false }, '0.0.0.0')).toThrow(/--insecure/);
    expect(tlsEnabled({ tls: false, insecure: true }, '0.0.0.0')).toBe(false);
    expect(() => tlsEnabled({ tlsCert: '/x.crt' }, '127.0.0.1')).toThrow(/go together/);
    expect(() => tlsEnabled({ tls: false, requireClientCert: true }, '127.0.0.1')).toThrow(/needs TLS/);
    expect(tlsEnabled({ requireClientCert: true }, '127.0.0.1')).toBe(true);
  });

  it('serves our own chain and pin, or an operator certificate whose chain file names the CA', () => {
    const d = dir();
    const own = serverTls({ tls: true }, '127.0.0.1', d, quiet)!;
    expect(own.pin).toBe(caPin(readFileSync(caFiles(d).cert)));
    expect(own.https.requestCert).toBe(false);
    const operator = dir();
    const { ca } = ensureCa(operator);
    ensureServerCert(operator, ca, ['127.0.0.1']);
    const chain = join(operator, 'chain.pem');
    writeFileSync(chain, readFileSync(serverCertFiles(operator).cert, 'utf8') + ca.certPem);
    const theirs = serverTls({ tlsCert: chain, tlsKey: serverCertFiles(operator).key, requireClientCert: true }, '0.0.0.0', dir(), quiet)!;
    expect(theirs.pin).toBe(caPin(ca.certPem));
    expect(theirs.https.requestCert).toBe(true);
    expect(() => serverTls({ tlsCert: join(operator, 'missing.pem'), tlsKey: chain }, '0.0.0.0', dir(), quiet)).toThrow(/--tls-cert/);
  });
});

describe('client certificates', () => {
  it('are signed from a CSR with CN = node id for about a year; the CSR subject is ignored; junk is a 400', () => {
    const { ca } = ensureCa(dir());
    const { privateKey, publicKey } = newRsaKey();
    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = publicKey;
    csr.setSubject([{ name: 'commonName', value: 'node_someone_else' }]);
    csr.sign(privateKey, forge.md.sha256.create());
    const now = Date.now();
    const signed = signNodeCsr(ca, forge.pki.certificationRequestToPem(csr), 'node_abc', now);
    const x = new X509Certificate(signed.pem);
    expect(x.subject).toBe('CN=node_abc');
    expect(x.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(x.keyUsage).toContain('1.3.6.1.5.5.7.3.2');
    expect(Math.abs(Date.parse(x.validTo) - (now + 365 * 86_400_000))).toBeLessThan(2000);
    expect(x.serialNumber.toLowerCase().replace(/^0+/, '')).toBe(signed.serial.replace(/^0+/, ''));
    expect(() => signNodeCsr(ca, 'not a csr', 'node_abc')).toThrow(expect.objectContaining({ code: 'validation_failed' }));
    // A CSR whose signature was made by another key is refused too.
    const other = newRsaKey();
    csr.sign(other.privateKey, forge.md.sha256.create());
    expect(() => signNodeCsr(ca, forge.pki.certificationRequestToPem(csr), 'node_abc')).toThrow(/signature does not match/);
  });
});
