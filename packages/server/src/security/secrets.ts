import { createHash, timingSafeEqual } from 'node:crypto';
import { newSecret } from '@steward/protocol/node';

/**
 * Every credential is `<id>.<secret>`: the id finds the row, the secret is checked against
 * its SHA-256 in constant time. Secrets are 256 random bits, so a plain hash is enough
 * (a slow KDF protects low-entropy passwords, which these are not).
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function makeCredential(id: string): { credential: string; hash: string } {
  const secret = newSecret('s').slice(2);
  return { credential: `${id}.${secret}`, hash: hashSecret(secret) };
}

/** Names a credential by its hash (never the secret): a rotation's id, shown to the agent. */
export function credentialIdOf(hash: string): string {
  return `cred_${hash.slice(0, 16)}`;
}

export function splitCredential(credential: string): { id: string; secret: string } | null {
  const dot = credential.indexOf('.');
  if (dot <= 0 || dot === credential.length - 1 || credential.length > 400) return null;
  return { id: credential.slice(0, dot), secret: credential.slice(dot + 1) };
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export function bearerOf(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}
