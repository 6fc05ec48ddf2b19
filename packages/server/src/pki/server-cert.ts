import { X509Certificate } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { signWithCa, TLS_DIR, type CertificateAuthority } from './ca.js';
import { writeFileAtomic } from '@steward/protocol/node';
import { newRsaKey, newSerial, readIfExists } from './keys.js';

const SERVER_CERT = 'server.crt';
const SERVER_KEY = 'server.key';
const VALID_DAYS = 397;
/** Renewed on start when less than this is left, so a restarted control plane never serves an expiring one. */
const RENEW_BEFORE_MS = 30 * 86_400_000;

export function serverCertFiles(dataDir: string): { cert: string; key: string } {
  return { cert: join(dataDir, TLS_DIR, SERVER_CERT), key: join(dataDir, TLS_DIR, SERVER_KEY) };
}

const WILDCARD = new Set(['0.0.0.0', '::', '']);

/** 0 for a DNS name, else the IP version (node:net is the link's alone, see the architecture test). */
function isIP(name: string): 0 | 4 | 6 {
  if (ipaddr.IPv4.isValidFourPartDecimal(name)) return 4;
  return ipaddr.IPv6.isValid(name) ? 6 : 0;
}

/**
 * The names agents may use to reach this control plane: the listen host, loopback, this
 * machine's hostname, and on a wildcard listen every address of its interfaces; `extra` from
 * `--tls-san` (a DNS name behind a load balancer, a public address).
 */
export function serverNames(listenHost: string, extra: readonly string[] = []): string[] {
  const names = new Set<string>(['127.0.0.1', '::1', 'localhost', hostname()]);
  if (WILDCARD.has(listenHost)) {
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.add(a.address.replace(/%.*$/, ''));
  } else names.add(listenHost);
  for (const e of extra) if (e.trim()) names.add(e.trim());
  return [...names];
}

/** SAN entries as X509Certificate prints them (`DNS:x`, `IP Address:1.2.3.4`). */
function sanText(name: string): string {
  if (isIP(name) === 0) return `DNS:${name}`;
  return `IP Address:${isIP(name) === 6 ? expandV6(name) : name}`;
}

/** OpenSSL prints IPv6 SANs expanded, upper case, without zero compression (`0:0:0:0:0:0:0:1`). */
function expandV6(ip: string): string {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array(8 - h.length - t.length).fill('0');
  return [...h, ...zeros, ...t].map((p) => parseInt(p, 16).toString(16).toUpperCase()).join(':');
}

/** The current certificate still fits: issued by this CA, not near expiry, every name covered. */
function stillGood(certPem: string, ca: CertificateAuthority, names: string[], now: number): boolean {
  try {
    const x = new X509Certificate(certPem);
    if (!x.checkIssued(new X509Certificate(ca.certPem)) || !x.verify(new X509Certificate(ca.certPem).publicKey)) return false;
    if (Date.parse(x.validTo) - now < RENEW_BEFORE_MS) return false;
    const have = new Set((x.subjectAltName ?? '').split(/,\s*/));
    return names.every((n) => have.has(sanText(n)));
  } catch {
    return false;
  }
}

/**
 * The server certificate signed by the control plane's CA, made or renewed on start when the
 * names changed, the CA changed or it is within 30 days of expiry. Returns the chain (server
 * certificate, then the CA) so an agent holding only the pin finds the CA in the handshake.
 */
export function ensureServerCert(dataDir: string, ca: CertificateAuthority, names: string[], now = Date.now()): { chainPem: string; keyPem: string; renewed: boolean } {
  const files = serverCertFiles(dataDir);
  const certPem = readIfExists(files.cert);
  const keyPem = readIfExists(files.key);
  if (certPem && keyPem && stillGood(certPem, ca, names, now)) return { chainPem: certPem + ca.certPem, keyPem, renewed: false };
  const { keyPem: newKeyPem, publicKey } = newRsaKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = newSerial();
  cert.validity.notBefore = new Date(now - 60_000);
  cert.validity.notAfter = new Date(now + VALID_DAYS * 86_400_000);
  cert.setSubject([{ name: 'commonName', value: names.find((n) => isIP(n) === 0 && n !== 'localhost') ?? names[0]! }]);
  const pem = signWithCa(ca, cert, [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: names.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) },
  ]);
  writeFileAtomic(files.key, newKeyPem, 0o600);
  writeFileAtomic(files.cert, pem, 0o644);
  return { chainPem: pem + ca.certPem, keyPem: newKeyPem, renewed: true };
}
