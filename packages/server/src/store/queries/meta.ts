import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

/**
 * The value kept under `key`, made by `make()` and stored on first use. Two replicas racing
 * both end with the first one stored (insert-or-ignore, then read), so they share it.
 */
export async function ensureMetaValue(db: Kysely<Database>, key: string, make: () => string): Promise<string> {
  await db.insertInto('meta').values({ key, value: make() }).onConflict((oc) => oc.column('key').doNothing()).execute();
  const row = await db.selectFrom('meta').select('value').where('key', '=', key).executeTakeFirstOrThrow();
  return row.value;
}
