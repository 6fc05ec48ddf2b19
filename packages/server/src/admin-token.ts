import { chmodSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newId } from '@steward/protocol';
import { makeCredential } from './security/secrets.js';
import type { Store } from './store/store.js';
import { countApiTokens, insertApiToken } from './store/queries/tokens.js';
import { ADMIN_TOKEN_FILE } from './options.js';

/**
 * On a store's first start: makes the admin token, keeps only its hash, and hands the token
 * over once through a 0600 file in the data dir.
 */
export async function ensureAdminToken(store: Store, dataDir: string, now: number): Promise<{ created: boolean; path: string }> {
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  if ((await countApiTokens(store.db, 'admin')) > 0) return { created: false, path };
  const id = newId('tok');
  const { credential, hash } = makeCredential(id);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${credential}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  await insertApiToken(store.db, { id, name: 'admin', role: 'admin', token_hash: hash, created_at: now, last_used_at: null });
  return { created: true, path };
}
