import { randomBytes } from 'node:crypto';

/** A high-entropy secret, url-safe, with a readable prefix that says what it is. */
export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}
