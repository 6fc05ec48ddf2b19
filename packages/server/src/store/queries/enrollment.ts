import type { Kysely } from 'kysely';
import type { Database, EnrollmentTokensTable } from '../schema.js';

export async function insertEnrollmentToken(db: Kysely<Database>, row: EnrollmentTokensTable): Promise<void> {
  await db.insertInto('enrollment_tokens').values(row).execute();
}

export async function listEnrollmentTokens(db: Kysely<Database>): Promise<EnrollmentTokensTable[]> {
  return db.selectFrom('enrollment_tokens').selectAll().orderBy('created_at', 'desc').execute();
}

export async function deleteEnrollmentToken(db: Kysely<Database>, id: string): Promise<boolean> {
  const res = await db.deleteFrom('enrollment_tokens').where('id', '=', id).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

export async function getEnrollmentToken(db: Kysely<Database>, id: string): Promise<EnrollmentTokensTable | undefined> {
  return db.selectFrom('enrollment_tokens').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Spends one use in a single conditional update, so two agents cannot share the last use. */
export async function takeEnrollmentUse(db: Kysely<Database>, id: string, now: number): Promise<EnrollmentTokensTable | undefined> {
  return db
    .updateTable('enrollment_tokens')
    .set((eb) => ({ uses: eb('uses', '+', 1) }))
    .where('id', '=', id)
    .where('expires_at', '>', now)
    .where((eb) => eb('uses', '<', eb.ref('uses_allowed')))
    .returningAll()
    .executeTakeFirst();
}
