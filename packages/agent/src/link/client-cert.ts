import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import forge from 'node-forge';
import { CLIENT_CERT_FILE, CLIENT_KEY_FILE } from './tls.js';
import { writeFileAtomic } from '@steward/protocol/node';

/**
 * A key for the node's client certificate, made here and kept in the data dir (0600), and the
 * CSR the control plane signs at enrollment. RSA: forge, which the control plane signs with,
 * reads no other key type. The key is made by Node (OpenSSL); forge only writes the CSR.
 */
export function newClientCsr(dataDir: string): string {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const key = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  // The control plane sets the subject (CN = node id); this one only says what asked.
  csr.setSubject([{ name: 'commonName', value: 'steward-agent' }]);
  csr.sign(key, forge.md.sha256.create());
  writeFileAtomic(join(dataDir, CLIENT_KEY_FILE), privateKey, 0o600);
  return forge.pki.certificationRequestToPem(csr);
}

export function saveClientCert(dataDir: string, pem: string): void {
  writeFileAtomic(join(dataDir, CLIENT_CERT_FILE), pem, 0o644);
}
