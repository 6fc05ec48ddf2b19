import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { connect, type DetailedPeerCertificate } from 'node:tls';
import { caPin, parseCaPin } from '@steward/protocol/node';
import { AgentError } from '../core/errors.js';
import { isLoopbackHost } from '../core/listen.js';
import { writeFileAtomic } from '@steward/protocol/node';

/** The CA the agent trusts for its control plane, kept after the first pinned handshake. */
export const SERVER_CA_FILE = 'server-ca.pem';
/** The node's client certificate (mTLS) and its key, made on the node at enrollment. */
export const CLIENT_KEY_FILE = 'client.key';
export const CLIENT_CERT_FILE = 'client.crt';

export type TrustErrorCode = 'insecure_server_url' | 'ca_pin_mismatch' | 'ca_unavailable';

/** The agent will not talk to this control plane this way; the message says why and how to fix it. */
export class TrustError extends AgentError<TrustErrorCode> {}

/**
 * How every connection to the control plane is made (enrollment, the WebSocket link, artifact
 * transfers): `ca` is then the only trust root; without it (loopback, or `--insecure`) plain
 * HTTP or the system's roots.
 */
export interface ServerTrust {
  ca?: string;
  /** The client certificate and key (mTLS), once enrolled over TLS. */
  cert?: string;
  key?: string;
  /** False only with `--insecure` and nothing to check the server against. */
  rejectUnauthorized: boolean;
}

export interface TrustSettings {
  server: string;
  /** Every control-plane URL the agent may dial (failover); `server` alone when absent. */
  servers?: readonly string[];
  dataDir: string;
  caSha256?: string;
  caFile?: string;
  insecure?: boolean;
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * The URL policy: off loopback the agent speaks only TLS checked against a pinned or given CA.
 * `http://` or an unpinned `https://` to another machine would hand the node credential (and
 * root on this machine) to anyone on the path, so it takes `--insecure`.
 */
export function checkServerUrl(server: string, o: { trusted: boolean; insecure?: boolean }): void {
  const url = new URL(server);
  if (o.insecure || isLoopbackHost(hostOf(url))) return;
  if (url.protocol === 'http:') {
    throw new TrustError(
      'insecure_server_url',
      `refusing to connect to ${url.origin}: plain http:// to a non-loopback host sends the node credential in clear. ` +
        'Use https:// with --ca-sha256 sha256:<hex> (printed by `steward enroll create`) or --ca-file <pem>, or pass --insecure to accept the risk',
      { server: url.origin },
    );
  }
  if (!o.trusted) {
    throw new TrustError(
      'insecure_server_url',
      `refusing to connect to ${url.origin}: https:// to a non-loopback host needs the control plane's CA pinned. ` +
        'Give --ca-sha256 sha256:<hex> (printed by `steward enroll create`) or --ca-file <pem>, or pass --insecure to accept the risk',
      { server: url.origin },
    );
  }
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new TrustError('ca_unavailable', `${what} ${path}: ${(e as Error).message}`, { path });
  }
}

/**
 * Settles what the agent trusts, before anything secret is sent: `--ca-file`, else the CA stored
 * at an earlier pinned start, else (with `--ca-sha256`) the CA fetched from the server's own
 * handshake and kept. A pin that disagrees with the stored CA is refused, not silently replaced.
 */
export async function resolveTrust(s: TrustSettings): Promise<ServerTrust> {
  const urls = (s.servers?.length ? s.servers : [s.server]).map((u) => new URL(u));
  const pin = s.caSha256 === undefined ? undefined : parseCaPin(s.caSha256);
  if (pin === null) throw new TrustError('ca_pin_mismatch', `--ca-sha256 ${JSON.stringify(s.caSha256)} is not sha256:<64 hex digits>`);
  const storedPath = join(s.dataDir, SERVER_CA_FILE);
  let ca: string | undefined;
  if (s.caFile) ca = readPem(s.caFile, '--ca-file');
  else if (existsSync(storedPath)) {
    ca = readPem(storedPath, 'stored control plane CA');
    if (pin && caPin(ca) !== pin) {
      throw new TrustError('ca_pin_mismatch', `the CA stored in ${storedPath} (${caPin(ca)}) is not the one --ca-sha256 names (${pin}); remove that file to pin the new CA`, { stored: caPin(ca), pin });
    }
  } else if (pin) {
    ca = await fetchPinnedCaFromAny(urls, pin);
    writeFileAtomic(storedPath, ca, 0o644);
  }
  if (pin && s.caFile && caPin(ca!) !== pin) throw new TrustError('ca_pin_mismatch', `--ca-file ${s.caFile} holds ${caPin(ca!)}, not ${pin}`);
  // One trust for every URL of the list: each must pass the same policy.
  for (const url of urls) checkServerUrl(url.href, { trusted: ca !== undefined, insecure: s.insecure });
  const trust: ServerTrust = { rejectUnauthorized: !(s.insecure && ca === undefined) };
  if (ca) trust.ca = ca;
  const certPath = join(s.dataDir, CLIENT_CERT_FILE);
  const keyPath = join(s.dataDir, CLIENT_KEY_FILE);
  if (urls.some((u) => u.protocol === 'https:') && existsSync(certPath) && existsSync(keyPath)) {
    trust.cert = readFileSync(certPath, 'utf8');
    trust.key = readFileSync(keyPath, 'utf8');
  }
  return trust;
}

/**
 * The pinned CA from the first https URL of the list that answers; a server presenting another
 * CA is refused at once (someone may be in the middle), an unreachable one is skipped.
 */
async function fetchPinnedCaFromAny(urls: readonly URL[], pin: string): Promise<string> {
  const https = urls.filter((u) => u.protocol === 'https:');
  if (https.length === 0) throw new TrustError('insecure_server_url', `--ca-sha256 needs an https:// server URL, not ${urls[0]!.origin}`);
  let last: unknown;
  for (const url of https) {
    try {
      return await fetchPinnedCa(url, pin);
    } catch (e) {
      if (e instanceof TrustError && e.code === 'ca_pin_mismatch') throw e;
      last = e;
    }
  }
  throw last;
}

function toPem(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
}

/**
 * Opens one TLS handshake to the server (nothing is sent over it) and returns the certificate of
 * its chain whose public key has the pin, after checking the server's certificate is signed by
 * it (directly or through the chain's intermediates). Every later connection then verifies the
 * chain, expiry and host name against that CA alone.
 */
export function fetchPinnedCa(url: URL, pin: string, timeoutMs = 15_000): Promise<string> {
  const host = hostOf(url);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port: Number(url.port || 443),
      ...(isIP(host) ? {} : { servername: host }),
      // Checked below against the pin: there is nothing to trust yet.
      rejectUnauthorized: false,
      timeout: timeoutMs,
    });
    const fail = (e: Error) => {
      socket.destroy();
      reject(e);
    };
    socket.once('timeout', () => fail(new TrustError('ca_unavailable', `no TLS handshake with ${url.host} within ${timeoutMs} ms`)));
    socket.once('error', (e) => fail(new TrustError('ca_unavailable', `cannot fetch the CA from ${url.host}: ${e.message}`)));
    socket.once('secureConnect', () => {
      const chain: DetailedPeerCertificate[] = [];
      let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      while (c?.raw && !chain.includes(c)) {
        chain.push(c);
        c = c.issuerCertificate;
      }
      socket.end();
      const found = chain.findIndex((x) => caPin(toPem(x.raw)) === pin);
      if (found < 0) {
        fail(new TrustError('ca_pin_mismatch', `the control plane at ${url.host} did not present the CA pinned by --ca-sha256 ${pin} (it presented ${chain.map((x) => caPin(toPem(x.raw))).join(', ') || 'no certificate'}); check the pin, or someone is in the middle`, { pin }));
        return;
      }
      // Each certificate below the pinned one must be signed by the one above it.
      for (let i = found; i > 0; i--) {
        if (!new X509Certificate(chain[i - 1]!.raw).verify(new X509Certificate(chain[i]!.raw).publicKey)) {
          fail(new TrustError('ca_pin_mismatch', `the server certificate of ${url.host} is not signed by the pinned CA ${pin}`, { pin }));
          return;
        }
      }
      resolve(toPem(chain[found]!.raw));
    });
  });
}

/** Options for `ws` (the link) and `tls.connect`. */
export function socketTlsOptions(t: ServerTrust): { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean } {
  return { ...(t.ca ? { ca: t.ca } : {}), ...(t.cert && t.key ? { cert: t.cert, key: t.key } : {}), rejectUnauthorized: t.rejectUnauthorized };
}

/** TLS failures are the operator's to fix (wrong CA, expired certificate): said plainly, not retried. */
export function isTlsFailure(e: unknown): boolean {
  const code = String((e as { code?: unknown })?.code ?? (e as { cause?: { code?: unknown } })?.cause?.code ?? '');
  return /^(CERT_|ERR_TLS_|SELF_SIGNED|UNABLE_TO_|DEPTH_ZERO|ERR_SSL)/.test(code);
}
