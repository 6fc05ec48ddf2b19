import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StewardError } from '@steward/protocol';

export const SECRET_BOX_FILE = 'secrets.key';
const PREFIX = 'sbx1:';

/** A sealed value this control plane cannot open: its data dir lacks the key the value was sealed with. */
export class SecretBoxError extends StewardError {
  constructor(message: string) {
    super('secret_unreadable', 409, message);
  }
}

/**
 * Seals secrets the control plane must keep to send again later (a service's env values) with
 * AES-256-GCM under a key in the data dir (`secrets.key`, 0600), not in the database: a dump of
 * the store, a CSV or a debug copy of a table shows only `sbx1:…`. Replicas of one store share
 * the file, as they share the command signing key.
 *
 * The IV is an HMAC of the plaintext under the key (deterministic, SIV-like): sealing the same
 * value twice gives the same text, so re-sending an unchanged spec changes nothing; the price is
 * that equal values are visibly equal, which env values of one spec rarely are.
 */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** Reads the data dir's key, making it on first use. */
  static open(dataDir: string): SecretBox {
    const path = join(dataDir, SECRET_BOX_FILE);
    if (!existsSync(path)) {
      try {
        writeFileSync(path, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${path}: not a 32-byte key (base64)`);
    return new SecretBox(key);
  }

  static isSealed(value: string): boolean {
    return value.startsWith(PREFIX);
  }

  seal(plain: string): string {
    const iv = createHmac('sha256', this.key).update(plain).digest().subarray(0, 12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  /** The plain value; values not sealed (stored before sealing existed) come back as they are. */
  unseal(value: string): string {
    if (!SecretBox.isSealed(value)) return value;
    const raw = Buffer.from(value.slice(PREFIX.length), 'base64');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError(`a stored secret was sealed with another key: copy ${SECRET_BOX_FILE} from the data dir of the control plane that stored it`);
    }
  }

  /** A record of strings (env) with every value sealed or unsealed. */
  mapValues(values: Record<string, string> | undefined, fn: (v: string) => string): Record<string, string> | undefined {
    return values && Object.fromEntries(Object.entries(values).map(([k, v]) => [k, fn(v)]));
  }
}
