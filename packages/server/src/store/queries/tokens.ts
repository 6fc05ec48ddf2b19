import type { Kysely } from 'kysely';
import type { ApiTokensTable, Database } from '../schema.js';

export async function insertApiToken(db: Kysely<Database>, row: ApiTokensTable): Promise<void> {
  await db.insertInto('api_tokens').values(row).execute();
}

export async function getApiToken(db: Kysely<Database>, id: string): Promise<ApiTokensTable | undefined> {
  return db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function touchApiToken(db: Kysely<Database>, id: string, now: number): Promise<void> {
  await db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', id).execute();
}

export async function countApiTokens(db: Kysely<Database>, role?: string): Promise<number> {
  let q = db.selectFrom('api_tokens').select((eb) => eb.fn.countAll<number>().as('n'));
  if (role) q = q.where('role', '=', role);
  const row = await q.executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function listApiTokens(db: Kysely<Database>): Promise<ApiTokensTable[]> {
  return db.selectFrom('api_tokens').selectAll().orderBy('created_at').execute();
}

export async function deleteApiToken(db: Kysely<Database>, id: string): Promise<boolean> {
  const res = await db.deleteFrom('api_tokens').where('id', '=', id).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}
