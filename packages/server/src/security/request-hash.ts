import { createHmac, randomBytes } from 'node:crypto';
import { canonicalJson } from '@steward/protocol';
import type { Store } from '../store/store.js';
import { ensureMetaValue } from '../store/queries/meta.js';

/** The `meta` key of the request-hash secret: in the store, so every replica computes the same hash. */
export const REQUEST_HASH_KEY = 'request_hash_key';

/**
 * What a request id is remembered with, to tell a retry from a different request under the same
 * id: an HMAC-SHA-256 with a server secret, not a plain digest. Payloads hold passwords and keys,
 * and a plain SHA-256 of a known shape lets whoever reads the hash column (a listing, a CSV, a
 * partial dump) confirm guesses offline.
 */
export class RequestHasher {
  private key: Promise<Buffer> | undefined;

  constructor(private readonly store: Store) {}

  async hash(parts: unknown): Promise<string> {
    this.key ??= ensureMetaValue(this.store.db, REQUEST_HASH_KEY, () => randomBytes(32).toString('hex')).then(
      (hex) => Buffer.from(hex, 'hex'),
      (err: unknown) => {
        this.key = undefined; // a store hiccup must not stick
        throw err;
      },
    );
    return createHmac('sha256', await this.key).update(canonicalJson(parts)).digest('hex');
  }
}
