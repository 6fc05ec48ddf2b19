import { Type, type Static } from '@sinclair/typebox';
import { Id, Timestamp } from '../api/common.js';

/**
 * Longest a signed command stays valid (its `expiresAt` is never later than issue + this):
 * the agent's journal keeps an id only until its expiry, so the bound keeps the journal small
 * while every id it dropped can no longer be replayed. A redelivery is signed again, fresh.
 */
export const SIGNATURE_MAX_LIFETIME_MS = 24 * 3_600_000;
/** How far in the future an `issuedAt` may be (clocks of control plane and node disagree). */
export const SIGNATURE_CLOCK_SKEW_MS = 5 * 60_000;

/** Codes an agent's refusal of a dispatched command carries, as a failed result's error code. */
export const COMMAND_REFUSAL_CODES = [
  'signature_missing',
  'signature_invalid',
  'command_wrong_node',
  'command_expired',
  'command_not_yet_valid',
  'command_replayed',
] as const;
export type CommandRefusalCode = (typeof COMMAND_REFUSAL_CODES)[number];

const SignatureValue = Type.String({ minLength: 1, maxLength: 200, description: 'Ed25519 signature, base64' });
const KeyId = Type.String({ pattern: '^[0-9a-f]{16}$', description: 'first 16 hex digits of the SHA-256 of the public key (SPKI DER)' });

/** What signs a dispatch: the fields not already in the command, and the signature over all of them. */
export const CommandSignature = Type.Object({
  keyId: KeyId,
  nodeId: Id,
  issuedAt: Timestamp,
  expiresAt: Timestamp,
  value: SignatureValue,
});
export type CommandSignature = Static<typeof CommandSignature>;

/** A public key the control plane signs with; `notAfter` set once rotated out (retired after it). */
export const SigningKey = Type.Object({
  id: KeyId,
  publicKey: Type.String({ minLength: 1, maxLength: 1000, description: 'PEM (SPKI) Ed25519 public key' }),
  // A plain union: agent messages are compiled with TypeBox's compiler, which has no `nullable`.
  notAfter: Type.Union([Timestamp, Type.Null()]),
});
export type SigningKey = Static<typeof SigningKey>;

/**
 * The control plane's keys as an agent pins them. Signed by every still-valid key the sending
 * replica holds, so an agent that knows only the old key can move to the new one (rotation)
 * and a set older than the pinned one (`issuedAt`) is ignored (no rolling back a retirement).
 */
export const SigningKeySet = Type.Object({
  issuedAt: Timestamp,
  keys: Type.Array(SigningKey, { minItems: 1, maxItems: 20 }),
  signatures: Type.Array(Type.Object({ keyId: KeyId, value: SignatureValue }), { maxItems: 20 }),
});
export type SigningKeySet = Static<typeof SigningKeySet>;
