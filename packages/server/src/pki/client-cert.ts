import forge from 'node-forge';
import { ValidationError } from '@steward/protocol';
import { signWithCa, type CertificateAuthority } from './ca.js';
import { newSerial } from './keys.js';

/** Client certificates are short-lived: a node re-enrolls (or rotates) well within a year. */
const CLIENT_VALID_DAYS = 365;

export interface ClientCertificate {
  pem: string;
  serial: string;
  expiresAt: number;
}

/**
 * Signs a node's CSR (its key never leaves the node) as a client certificate whose CN is the
 * node id: the link compares it with the node the credential belongs to. Only the CSR's public
 * key is taken; the subject it asked for is ignored.
 */
export function signNodeCsr(ca: CertificateAuthority, csrPem: string, nodeId: string, now = Date.now()): ClientCertificate {
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(csrPem);
  } catch (e) {
    throw new ValidationError(`csr: not a PEM certificate signing request (${(e as Error).message})`, [{ field: 'csr', rule: 'PEM CSR (RSA key)' }]);
  }
  let valid = false;
  try {
    // forge throws for signature algorithms it does not know: the agent's mistake too, never a 500.
    valid = Boolean(csr.publicKey) && csr.verify();
  } catch {
    valid = false;
  }
  if (!valid || !csr.publicKey) throw new ValidationError('csr: its signature does not match its key (an RSA key, SHA-256)', [{ field: 'csr', rule: 'self-signed CSR' }]);
  const cert = forge.pki.createCertificate();
  cert.publicKey = csr.publicKey;
  const serial = newSerial();
  cert.serialNumber = serial;
  const expiresAt = now + CLIENT_VALID_DAYS * 86_400_000;
  cert.validity.notBefore = new Date(now - 60_000);
  cert.validity.notAfter = new Date(expiresAt);
  cert.setSubject([{ name: 'commonName', value: nodeId }]);
  const pem = signWithCa(ca, cert, [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
  return { pem, serial, expiresAt };
}
