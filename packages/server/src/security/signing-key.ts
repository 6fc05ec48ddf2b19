import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Kysely } from 'kysely';
import {
  SIGNATURE_MAX_LIFETIME_MS,
  StewardError,
  type CommandSignature,
  type SigningKey,
  type SigningKeySet,
} from '@steward/protocol';
import { commandFields, credentialFields, keyIdOf, keySetFields, signFields } from '@steward/protocol/node';
import type { Database } from '../store/schema.js';
import { activeSigningKeys, getSigningKey, insertSigningKey, retireSigningKeysExcept } from '../store/queries/signing-keys.js';

/** The private key that signs dispatched commands, in the control plane's data dir (0600). */
export const SIGNING_KEY_FILE = 'command-signing.key';

export class SigningKeyError extends StewardError {
  constructor(code: 'signing_key_missing' | 'signing_key_retired' | 'signing_key_unreadable', message: string, details?: unknown) {
    super(code, 500, message, details);
  }
}

interface HeldKey {
  id: string;
  privateKey: KeyObject;
  publicPem: string;
}

function holdKey(privateKey: KeyObject): HeldKey {
  const pub = createPublicKey(privateKey);
  return { id: keyIdOf(pub), privateKey, publicPem: pub.export({ type: 'spki', format: 'pem' }).toString() };
}

function readKey(path: string): HeldKey {
  try {
    const key = createPrivateKey(readFileSync(path));
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`an ${key.asymmetricKeyType} key, not Ed25519`);
    return holdKey(key);
  } catch (e) {
    throw new SigningKeyError('signing_key_unreadable', `command signing key ${path} is unreadable: ${(e as Error).message}`, { path });
  }
}

/** `wx`: two processes starting at once never overwrite each other's key. */
function writeKey(path: string, key: KeyObject, exclusive: boolean): void {
  writeFileSync(path, key.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: exclusive ? 'wx' : 'w' });
}

/**
 * The active keys as enrollment hands them out: unsigned, because they travel in the same
 * answer as the node's credential and are trusted exactly as far as it is.
 */
export async function enrollmentKeySet(db: Kysely<Database>, now: number): Promise<SigningKeySet> {
  const keys = (await activeSigningKeys(db, now)).map((r) => ({ id: r.id, publicKey: r.public_key, notAfter: r.not_after }));
  return { issuedAt: now, keys, signatures: [] };
}

/** How long a signed key set is handed out again (to the welcomes of a reconnect storm) before it is signed anew. */
export const KEY_SET_REUSE_MS = 5000;

/** What a command's signature may cover: until its own deadline, at most the bounded lifetime. */
export function signatureExpiry(row: { state: string; expires_at: number | null }, issuedAt: number): number | null {
  const deadline = row.state === 'pending' || row.state === 'dispatched' ? row.expires_at : null;
  if (deadline !== null && deadline <= issuedAt) return null;
  return Math.min(issuedAt + SIGNATURE_MAX_LIFETIME_MS, deadline ?? Number.POSITIVE_INFINITY);
}

/**
 * Signs what the control plane sends agents (commands, key sets, credentials) with the key of
 * this replica; keeps the keys it rotated out until they retire, to co-sign key sets with.
 * Lifecycle: open (load or create, register in the store) → sign… → rotate → sign…
 */
export class CommandSigner {
  /** The last key set signed, reused for KEY_SET_REUSE_MS while the keys and signers are the same. */
  private signedSet: { key: string; set: SigningKeySet } | null = null;

  private constructor(
    private current: HeldKey,
    private retiring: HeldKey[],
    /** Where the current key is kept; rotated-out keys sit beside it as `<file>.<key id>`. */
    private readonly path: string | null,
  ) {}

  /** A signer whose key lives only in memory (tests of the link without a data dir). */
  static ephemeral(): CommandSigner {
    return new CommandSigner(holdKey(generateKeyPairSync('ed25519').privateKey), [], null);
  }

  /**
   * Loads this replica's key (`keyFile`, else the data dir's), or makes one on a first start.
   * Refuses to make one when the store already has an active key: a second replica would
   * otherwise sign with a key no agent pinned.
   */
  static async open(db: Kysely<Database>, dataDir: string, now: number, keyFile?: string): Promise<CommandSigner> {
    const path = keyFile ?? join(dataDir, SIGNING_KEY_FILE);
    let held: HeldKey;
    if (existsSync(path)) {
      held = readKey(path);
      const row = await getSigningKey(db, held.id);
      if (row?.not_after != null && row.not_after <= now) {
        throw new SigningKeyError('signing_key_retired', `command signing key ${held.id} (${path}) was rotated out at ${new Date(row.not_after).toISOString()}; copy the current ${SIGNING_KEY_FILE} from the replica that rotated it`, { keyId: held.id });
      }
      if (!row) await insertSigningKey(db, { id: held.id, public_key: held.publicPem, created_at: now, not_after: null });
    } else {
      if (keyFile) throw new SigningKeyError('signing_key_missing', `command signing key ${keyFile} does not exist`, { path: keyFile });
      const active = await activeSigningKeys(db, now);
      if (active.length > 0) {
        throw new SigningKeyError(
          'signing_key_missing',
          `the store already has command signing key ${active.map((k) => k.id).join(', ')} but ${path} does not exist: copy ${SIGNING_KEY_FILE} from another replica's data dir (mode 0600) or pass --signing-key FILE; making a new key would sign commands no agent trusts`,
          { path, keyIds: active.map((k) => k.id) },
        );
      }
      const key = generateKeyPairSync('ed25519').privateKey;
      writeKey(path, key, true);
      held = holdKey(key);
      await insertSigningKey(db, { id: held.id, public_key: held.publicPem, created_at: now, not_after: null });
    }
    return new CommandSigner(held, await loadRetiring(db, path, held.id, now), path);
  }

  get keyId(): string {
    return this.current.id;
  }

  /** The signature of one dispatch, or null when the command is past its own deadline (not sent). */
  signCommand(nodeId: string, c: { id: string; type: string; payload: unknown; payloadSha256?: string; state: string; expires_at: number | null }, now: number): CommandSignature | null {
    const expiresAt = signatureExpiry(c, now);
    if (expiresAt === null) return null;
    const keyId = this.current.id;
    const value = signFields(
      this.current.privateKey,
      'command',
      commandFields({ nodeId, commandId: c.id, type: c.type, payload: c.payload, ...(c.payloadSha256 ? { payloadSha256: c.payloadSha256 } : {}), issuedAt: now, expiresAt, keyId }),
    );
    return { keyId, nodeId, issuedAt: now, expiresAt, value };
  }

  /** The signature of a new credential sent to a node (covers its digest, not the secret). */
  signCredential(nodeId: string, credentialId: string, credential: string, now: number): CommandSignature {
    const keyId = this.current.id;
    const expiresAt = now + SIGNATURE_MAX_LIFETIME_MS;
    const value = signFields(this.current.privateKey, 'credential', credentialFields({ nodeId, credentialId, credential, issuedAt: now, expiresAt, keyId }));
    return { keyId, nodeId, issuedAt: now, expiresAt, value };
  }

  /** The key set agents pin: every active key in the store (and ours), signed by every valid key held here. */
  async keySet(db: Kysely<Database>, now: number): Promise<SigningKeySet> {
    const rows = await activeSigningKeys(db, now);
    const keys: SigningKey[] = rows.map((r) => ({ id: r.id, publicKey: r.public_key, notAfter: r.not_after }));
    if (!keys.some((k) => k.id === this.current.id)) keys.push({ id: this.current.id, publicKey: this.current.publicPem, notAfter: null });
    const valid = new Set(keys.map((k) => k.id));
    this.retiring = this.retiring.filter((k) => valid.has(k.id));
    // Every welcome carries the set: a reconnect storm signed it thousands of times a second.
    // The same keys signed by the same keys a moment ago are that set again (an agent ignores a
    // set no newer than the one it pinned, and the keys are the same); any change signs anew.
    const signers = [this.current, ...this.retiring];
    const cacheKey = JSON.stringify([keys, signers.map((k) => k.id)]);
    const cached = this.signedSet;
    if (cached && cached.key === cacheKey && now >= cached.set.issuedAt && now - cached.set.issuedAt < KEY_SET_REUSE_MS) return cached.set;
    const fields = keySetFields({ issuedAt: now, keys });
    const signatures = signers.map((k) => ({ keyId: k.id, value: signFields(k.privateKey, 'signing-keys', fields) }));
    const set = { issuedAt: now, keys, signatures };
    this.signedSet = { key: cacheKey, set };
    return set;
  }

  /**
   * Makes a new key, registers it, and retires every other one `overlapMs` from now. The old
   * key file is kept beside the new one until then. The caller announces the new key set to
   * agents; `use()` then switches signing to the new key.
   */
  async rotate(db: Kysely<Database>, now: number, overlapMs: number): Promise<{ keyId: string; retiredIds: string[]; notAfter: number; use: () => void }> {
    const next = holdKey(generateKeyPairSync('ed25519').privateKey);
    await insertSigningKey(db, { id: next.id, public_key: next.publicPem, created_at: now, not_after: null });
    const notAfter = now + overlapMs;
    const before = (await activeSigningKeys(db, now)).filter((k) => k.id !== next.id).map((k) => k.id);
    await retireSigningKeysExcept(db, next.id, notAfter);
    const old = this.current;
    if (this.path) {
      // The new key replaces the file; the old one stays beside it (same mode) until it retires,
      // so a restart inside the window still co-signs key sets for agents that know only it.
      const path = this.path;
      writeKey(`${path}.${old.id}`, old.privateKey, false);
      writeKey(`${path}.tmp`, next.privateKey, false);
      renameSync(`${path}.tmp`, path);
    }
    return {
      keyId: next.id,
      retiredIds: before,
      notAfter,
      use: () => {
        this.retiring = [old, ...this.retiring.filter((k) => k.id !== old.id)];
        this.current = next;
      },
    };
  }
}

/** Keys rotated out earlier that are still valid (their files sit beside the current one); retired ones' files are removed. */
async function loadRetiring(db: Kysely<Database>, keyPath: string, currentId: string, now: number): Promise<HeldKey[]> {
  const active = new Set((await activeSigningKeys(db, now)).map((k) => k.id));
  const prefix = `${basename(keyPath)}.`;
  const out: HeldKey[] = [];
  for (const name of readdirSync(dirname(keyPath))) {
    if (!name.startsWith(prefix)) continue;
    const id = name.slice(prefix.length);
    const file = join(dirname(keyPath), name);
    if (id !== currentId && active.has(id)) out.push(readKey(file));
    // A retired key signs nothing any agent accepts; its private half need not stay on disk.
    else if (id !== currentId && /^[0-9a-f]{16}$/.test(id)) rmSync(file, { force: true });
  }
  return out;
}
