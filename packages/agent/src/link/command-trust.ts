import type { Logger } from 'pino';
import {
  SIGNATURE_CLOCK_SKEW_MS,
  SIGNATURE_MAX_LIFETIME_MS,
  type CommandRefusalCode,
  type CredentialRotateMessage,
  type DispatchMessage,
  type SigningKey,
  type SigningKeySet,
} from '@steward/protocol';
import { commandFields, credentialFields, keySetFields, verifyFields } from '@steward/protocol/node';
import { saveIdentity, type Identity } from './identity.js';

export type Verdict = { ok: true; issuedAt: number; expiresAt: number } | { ok: false; code: CommandRefusalCode; message: string };

/**
 * What the agent trusts from the control plane: the signing keys pinned in its identity, and
 * the checks every dispatched command passes before anything runs or is journaled (signed by
 * a pinned, unretired key, for this node, not expired, not issued in the future).
 */
export class CommandTrust {
  constructor(
    private readonly dataDir: string,
    /** Kept current: a key set or credential change is saved into it and written to disk. */
    private identity: Identity,
    private readonly log: Logger,
  ) {}

  get pinned(): SigningKey[] {
    return this.identity.signingKeys?.keys ?? [];
  }

  get current(): Identity {
    return this.identity;
  }

  /**
   * A key set from the control plane. With keys pinned, it must be signed by one of them
   * (still valid) and newer than the pinned set. With none pinned (an identity enrolled before
   * commands were signed), the first set is trusted as it came over the authenticated link:
   * trust on first use, said in the log.
   */
  offerKeySet(set: SigningKeySet, now: number): boolean {
    const pinned = this.identity.signingKeys;
    if (!pinned) {
      this.pin(set);
      this.log.warn({ keyIds: set.keys.map((k) => k.id) }, 'pinned the control plane\'s command signing keys on first use (this identity was enrolled before commands were signed)');
      return true;
    }
    if (set.issuedAt <= pinned.issuedAt) return false;
    const fields = keySetFields(set);
    const vouched = set.signatures.some((sig) => {
      const key = this.valid(sig.keyId, now);
      return key !== undefined && verifyFields(key.publicKey, 'signing-keys', fields, sig.value);
    });
    if (!vouched) {
      this.log.warn({ keyIds: set.keys.map((k) => k.id) }, 'ignored a signing key set no pinned key signed');
      return false;
    }
    const before = new Set(pinned.keys.map((k) => k.id));
    this.pin(set);
    const added = set.keys.filter((k) => !before.has(k.id)).map((k) => k.id);
    if (added.length) this.log.info({ added, keyIds: set.keys.map((k) => k.id) }, 'control plane signing keys rotated');
    return true;
  }

  /** Whether a dispatched command may run: checked before it is journaled or started. */
  verifyDispatch(msg: DispatchMessage, now: number): Verdict {
    const sig = msg.signature;
    if (!sig) return refuse('signature_missing', 'the command is not signed; this agent runs only commands signed by its control plane');
    const key = this.valid(sig.keyId, now);
    if (!key) {
      const known = this.pinned.some((k) => k.id === sig.keyId);
      return refuse('signature_invalid', known ? `signing key ${sig.keyId} was retired` : `signing key ${sig.keyId} is not one this agent pinned`);
    }
    const fields = commandFields({ nodeId: sig.nodeId, commandId: msg.command.id, type: msg.command.type, payload: msg.command.payload, issuedAt: sig.issuedAt, expiresAt: sig.expiresAt, keyId: sig.keyId });
    if (!verifyFields(key.publicKey, 'command', fields, sig.value)) return refuse('signature_invalid', 'the command\'s signature does not match its contents');
    if (sig.nodeId !== this.identity.nodeId) return refuse('command_wrong_node', `the command was signed for node ${sig.nodeId}, this is ${this.identity.nodeId}`);
    if (sig.issuedAt > now + SIGNATURE_CLOCK_SKEW_MS) return refuse('command_not_yet_valid', `the command was issued ${sig.issuedAt - now} ms in the future (allowed skew ${SIGNATURE_CLOCK_SKEW_MS} ms)`);
    // A lifetime past the bound would outlive the journal's memory of the id.
    if (sig.expiresAt > sig.issuedAt + SIGNATURE_MAX_LIFETIME_MS) return refuse('signature_invalid', 'the command\'s signature claims a lifetime longer than allowed');
    if (sig.expiresAt + SIGNATURE_CLOCK_SKEW_MS < now) return refuse('command_expired', `the command expired at ${new Date(sig.expiresAt).toISOString()}`);
    return { ok: true, issuedAt: sig.issuedAt, expiresAt: sig.expiresAt };
  }

  /** A new credential from the control plane, if signed for this node by a pinned key; else null. */
  verifyCredential(msg: CredentialRotateMessage, now: number): string | null {
    const sig = msg.signature;
    const key = this.valid(sig.keyId, now);
    if (!key || sig.nodeId !== this.identity.nodeId || sig.expiresAt + SIGNATURE_CLOCK_SKEW_MS < now) return null;
    const fields = credentialFields({ nodeId: sig.nodeId, credentialId: msg.credentialId, credential: msg.credential, issuedAt: sig.issuedAt, expiresAt: sig.expiresAt, keyId: sig.keyId });
    return verifyFields(key.publicKey, 'credential', fields, sig.value) ? msg.credential : null;
  }

  /** Writes the new credential into the identity file (atomically) before anything acknowledges it. */
  saveCredential(credential: string): Identity {
    this.identity = { ...this.identity, credential };
    saveIdentity(this.dataDir, this.identity);
    return this.identity;
  }

  /** A pinned key that is not retired at `now`. */
  private valid(keyId: string, now: number): SigningKey | undefined {
    return this.pinned.find((k) => k.id === keyId && (k.notAfter === null || k.notAfter > now));
  }

  /** Written to disk only when the keys changed: every welcome carries a (newer) set. */
  private pin(set: SigningKeySet): void {
    const same = JSON.stringify(this.identity.signingKeys?.keys ?? null) === JSON.stringify(set.keys);
    this.identity = { ...this.identity, signingKeys: { issuedAt: set.issuedAt, keys: set.keys } };
    if (!same) saveIdentity(this.dataDir, this.identity);
  }
}

function refuse(code: CommandRefusalCode, message: string): Verdict {
  return { ok: false, code, message };
}
