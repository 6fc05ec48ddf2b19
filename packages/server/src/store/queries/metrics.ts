import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

export async function countNodesByStatus(db: Kysely<Database>): Promise<{ status: string; n: number }[]> {
  const rows = await db
    .selectFrom('nodes')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('status')
    .execute();
  return rows.map((r) => ({ status: r.status, n: Number(r.n) }));
}

/** A scan of the commands table: run per scrape, not per request. */
export async function countCommandsByTypeAndState(db: Kysely<Database>): Promise<{ type: string; state: string; n: number }[]> {
  const rows = await db
    .selectFrom('commands')
    .select(['type', 'state', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy(['type', 'state'])
    .execute();
  return rows.map((r) => ({ type: r.type, state: r.state, n: Number(r.n) }));
}

export async function countCommandsInState(db: Kysely<Database>, state: string): Promise<number> {
  const row = await db
    .selectFrom('commands')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('state', '=', state)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function countJobsInState(db: Kysely<Database>, state: string): Promise<number> {
  const row = await db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('state', '=', state)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
