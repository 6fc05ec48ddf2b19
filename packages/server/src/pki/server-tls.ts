import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { ValidationError } from '@steward/protocol';
import { caPin, pemCertificates } from '@steward/protocol/node';
import { ensureCa, type CertificateAuthority } from './ca.js';
import { ensureServerCert, serverNames } from './server-cert.js';

export interface TlsChoice {
  /** `--tls` / `--no-tls`; undefined: on unless the listen host is loopback. */
  tls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsSans?: string[];
  insecure?: boolean;
  requireClientCert?: boolean;
}

/** What the HTTPS listener and the routes that show or use the CA need. */
export interface ServerTls {
  /** For Fastify's `https` option (node:https server options). */
  https: { key: string; cert: string; ca: string[]; requestCert: boolean; rejectUnauthorized: false };
  /** The CA agents pin: ours, or the last certificate of an operator's chain file (null when it holds one). */
  caPem: string | null;
  pin: string | null;
  /** Signs the nodes' client certificates (always ours, also with an operator's server certificate). */
  ca: CertificateAuthority;
  requireClientCert: boolean;
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * TLS is on by default off loopback (anyone on the path would read credentials and tokens);
 * on loopback it stays plain HTTP unless asked. Plain HTTP off loopback takes `--insecure`.
 */
export function tlsEnabled(o: TlsChoice, host: string): boolean {
  const own = Boolean(o.tlsCert || o.tlsKey);
  if (own && !(o.tlsCert && o.tlsKey)) throw new ValidationError('--tls-cert and --tls-key go together', [{ field: o.tlsCert ? 'tlsKey' : 'tlsCert', rule: 'required with the other' }]);
  if (o.tls === false && own) throw new ValidationError('--no-tls contradicts --tls-cert/--tls-key', [{ field: 'tls', rule: 'not false with a certificate' }]);
  if (o.requireClientCert && o.tls === false) throw new ValidationError('--require-client-cert needs TLS', [{ field: 'requireClientCert', rule: 'TLS on' }]);
  if (o.tls === false && !isLoopbackHost(host) && !o.insecure) {
    throw new ValidationError(
      `--no-tls on ${host} (not a loopback address) would send node credentials, enrollment tokens and secrets in clear; add --insecure to do it anyway`,
      [{ field: 'tls', rule: 'off only on loopback or with --insecure' }],
    );
  }
  return own || o.requireClientCert === true || (o.tls ?? !isLoopbackHost(host));
}

/** Reads or makes the certificates; null when the control plane serves plain HTTP. */
export function serverTls(o: TlsChoice, host: string, dataDir: string, log: Logger): ServerTls | null {
  if (!tlsEnabled(o, host)) {
    if (!isLoopbackHost(host)) log.warn({ host }, 'TLS is OFF on a non-loopback address (--no-tls --insecure): credentials, tokens and secrets cross the network in clear');
    return null;
  }
  const { ca, created } = ensureCa(dataDir);
  if (created) log.info({ pin: caPin(ca.certPem) }, 'made the control plane CA');
  const requireClientCert = o.requireClientCert === true;
  // Client certificates are checked against our CA; the link decides (rejectUnauthorized false keeps the API and dashboard open to browsers).
  const clientCa = { ca: [ca.certPem], requestCert: requireClientCert, rejectUnauthorized: false as const };
  if (o.tlsCert && o.tlsKey) {
    const cert = read(o.tlsCert, '--tls-cert');
    const chain = pemCertificates(cert);
    if (chain.length === 0) throw new ValidationError(`--tls-cert ${o.tlsCert}: no PEM certificate in it`, [{ field: 'tlsCert', rule: 'PEM certificate' }]);
    const caPem = chain.length > 1 ? chain[chain.length - 1]! : null;
    // Served as given (it is the operator's to renew), but an expired one is said at start: agents will refuse it.
    const validTo = Date.parse(new X509Certificate(chain[0]!).validTo);
    if (validTo <= Date.now()) log.warn({ tlsCert: o.tlsCert, validTo: new Date(validTo).toISOString() }, 'the server certificate (--tls-cert) has EXPIRED: agents will refuse it');
    return { https: { key: read(o.tlsKey, '--tls-key'), cert, ...clientCa }, caPem, pin: caPem ? caPin(caPem) : null, ca, requireClientCert };
  }
  const names = serverNames(host, o.tlsSans);
  const server = ensureServerCert(dataDir, ca, names);
  if (server.renewed) log.info({ names }, 'made the server certificate');
  return { https: { key: server.keyPem, cert: server.chainPem, ...clientCa }, caPem: ca.certPem, pin: caPin(ca.certPem), ca, requireClientCert };
}

function read(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ValidationError(`${flag} ${path}: ${(e as Error).message}`, [{ field: flag.slice(2), rule: 'readable file' }]);
  }
}
