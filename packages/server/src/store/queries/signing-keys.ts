import type { Kysely } from 'kysely';
import type { Database, SigningKeysTable } from '../schema.js';

export async function insertSigningKey(db: Kysely<Database>, row: SigningKeysTable): Promise<void> {
  await db.insertInto('signing_keys').values(row).onConflict((oc) => oc.column('id').doNothing()).execute();
}

export async function getSigningKey(db: Kysely<Database>, id: string): Promise<SigningKeysTable | undefined> {
  return db.selectFrom('signing_keys').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Keys still valid at `now` (never retired, or retired later), oldest first. */
export async function activeSigningKeys(db: Kysely<Database>, now: number): Promise<SigningKeysTable[]> {
  return db
    .selectFrom('signing_keys')
    .selectAll()
    .where((eb) => eb.or([eb('not_after', 'is', null), eb('not_after', '>', now)]))
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** Sets the end of every other still-open key's validity; the rotated-to key stays open. */
export async function retireSigningKeysExcept(db: Kysely<Database>, keepId: string, notAfter: number): Promise<number> {
  const res = await db
    .updateTable('signing_keys')
    .set({ not_after: notAfter })
    .where('id', '!=', keepId)
    .where((eb) => eb.or([eb('not_after', 'is', null), eb('not_after', '>', notAfter)]))
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}
