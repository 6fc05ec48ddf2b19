import { hostname } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { writeFileAtomic } from '@steward/protocol/node';
import { newRsaKey, newSerial, readIfExists } from './keys.js';

/** Where the control plane keeps its PKI, under its data dir. */
export const TLS_DIR = 'tls';
const CA_CERT = 'ca.crt';
const CA_KEY = 'ca.key';

const CA_YEARS = 10;

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
}

export function caFiles(dataDir: string): { cert: string; key: string } {
  return { cert: join(dataDir, TLS_DIR, CA_CERT), key: join(dataDir, TLS_DIR, CA_KEY) };
}

/**
 * The control plane's own CA: made on the first start (key 0600), then read back. It signs the
 * server certificate and the nodes' client certificates; agents pin its public key.
 */
export function ensureCa(dataDir: string, now = Date.now()): { ca: CertificateAuthority; created: boolean } {
  const files = caFiles(dataDir);
  const certPem = readIfExists(files.cert);
  const keyPem = readIfExists(files.key);
  if (certPem && keyPem) {
    return { ca: { certPem, keyPem, cert: forge.pki.certificateFromPem(certPem), key: forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey }, created: false };
  }
  const { keyPem: newKeyPem, privateKey, publicKey } = newRsaKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = newSerial();
  cert.validity.notBefore = new Date(now - 60_000);
  cert.validity.notAfter = new Date(now + CA_YEARS * 365 * 86_400_000);
  const name = [
    { name: 'commonName', value: `Steward CA (${hostname()})` },
    { name: 'organizationName', value: 'Steward' },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(privateKey, forge.md.sha256.create());
  const pem = forge.pki.certificateToPem(cert);
  // Key first: a crash between the two leaves no certificate without its key.
  writeFileAtomic(files.key, newKeyPem, 0o600);
  writeFileAtomic(files.cert, pem, 0o644);
  return { ca: { certPem: pem, keyPem: newKeyPem, cert, key: privateKey }, created: true };
}

/** Signs `cert` (subject, key and extensions set) as the CA; issuer and key ids come from the CA. */
export function signWithCa(ca: CertificateAuthority, cert: forge.pki.Certificate, extensions: object[]): string {
  cert.setIssuer(ca.cert.subject.attributes);
  cert.setExtensions([
    ...extensions,
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.cert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(ca.key, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}
