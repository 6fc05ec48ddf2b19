import { createHash, X509Certificate } from 'node:crypto';

/**
 * The pin of a CA as `steward agent --ca-sha256` takes it: `sha256:` and the hex SHA-256 of the
 * certificate's DER SubjectPublicKeyInfo (as kubeadm's `--discovery-token-ca-cert-hash`). It names
 * the key, so a CA certificate re-issued with the same key keeps its pin.
 */
export function caPin(certPem: string | Buffer): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

const PIN = /^(?:sha256:)?([0-9a-fA-F]{64})$/;

/** `sha256:<64 hex>` (the prefix may be left out; case ignored), normalised; null when not a pin. */
export function parseCaPin(text: string): string | null {
  const m = PIN.exec(text.trim());
  return m ? `sha256:${m[1]!.toLowerCase()}` : null;
}

/** The PEM blocks of a bundle (a chain file holds the server certificate, then its issuers). */
export function pemCertificates(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((b) => b + '\n') ?? [];
}
