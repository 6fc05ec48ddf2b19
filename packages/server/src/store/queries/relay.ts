import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.js';

/** PostgreSQL NOTIFY on `channel` (what replicas LISTEN to); the payload is bound, never spliced. */
export async function notifyChannel(db: Kysely<Database>, channel: string, payload: string): Promise<void> {
  await sql`select pg_notify(${channel}, ${payload})`.execute(db);
}
