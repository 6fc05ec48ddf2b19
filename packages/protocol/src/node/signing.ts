import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../canonical-json.js';
import type { SigningKey } from '../agent/signing.js';

/**
 * Ed25519 signatures between control plane and agent. What is signed is the canonical JSON of
 * a `purpose` and the fields, so a signature made for one purpose (a command) can never pass
 * for another (a key set, a credential), and both sides build the same bytes.
 */

/** First 16 hex digits of the SHA-256 of the key's SPKI DER: short, stable, derived (not chosen). */
export function keyIdOf(publicKey: string | KeyObject): string {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  return createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** SHA-256 of the payload's canonical JSON: the same payload gives the same digest on both sides. */
export function payloadDigest(payload: unknown): string {
  return sha256Hex(canonicalJson(payload ?? null));
}

export function signFields(privateKey: KeyObject, purpose: string, fields: Record<string, unknown>): string {
  return sign(null, Buffer.from(canonicalJson({ purpose, ...fields })), privateKey).toString('base64');
}

/**
 * Parsed public keys by PEM. Parsing a PEM costs more than the Ed25519 check itself, and an agent
 * verifies every command against one of a handful of keys. Bounded: a key set holds a few keys,
 * and the map is simply emptied if something ever feeds it many.
 */
const parsedKeys = new Map<string, KeyObject>();
const PARSED_KEYS_MAX = 32;

function publicKeyOf(pem: string): KeyObject {
  let key = parsedKeys.get(pem);
  if (!key) {
    key = createPublicKey(pem);
    if (parsedKeys.size >= PARSED_KEYS_MAX) parsedKeys.clear();
    parsedKeys.set(pem, key);
  }
  return key;
}

/** False for a bad signature, and for a key or signature that is not even well formed. */
export function verifyFields(publicKeyPem: string, purpose: string, fields: Record<string, unknown>, value: string): boolean {
  try {
    return verify(null, Buffer.from(canonicalJson({ purpose, ...fields })), publicKeyOf(publicKeyPem), Buffer.from(value, 'base64'));
  } catch {
    return false;
  }
}

/** The fields a command dispatch's signature covers. */
export function commandFields(c: {
  nodeId: string;
  commandId: string;
  type: string;
  payload: unknown;
  /** payloadDigest(payload), when the caller has it already (a fan-out signs one payload many times). */
  payloadSha256?: string;
  issuedAt: number;
  expiresAt: number;
  keyId: string;
}): Record<string, unknown> {
  return {
    nodeId: c.nodeId,
    commandId: c.commandId,
    type: c.type,
    payloadSha256: c.payloadSha256 ?? payloadDigest(c.payload),
    issuedAt: c.issuedAt,
    expiresAt: c.expiresAt,
    keyId: c.keyId,
  };
}

/** The fields a key set's signatures cover. */
export function keySetFields(set: { issuedAt: number; keys: SigningKey[] }): Record<string, unknown> {
  return { issuedAt: set.issuedAt, keys: set.keys.map((k) => ({ id: k.id, publicKey: k.publicKey, notAfter: k.notAfter })) };
}

/** The fields a credential rotation's signature covers (a digest: the credential itself is never signed in clear). */
export function credentialFields(c: { nodeId: string; credentialId: string; credential: string; issuedAt: number; expiresAt: number; keyId: string }): Record<string, unknown> {
  return { nodeId: c.nodeId, credentialId: c.credentialId, credentialSha256: sha256Hex(c.credential), issuedAt: c.issuedAt, expiresAt: c.expiresAt, keyId: c.keyId };
}
