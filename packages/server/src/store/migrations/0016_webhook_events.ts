import type { Kysely } from 'kysely';
import { refuseDown } from './refuse-down.js';

export async function up(db: Kysely<any>): Promise<void> {
  // Webhooks now take command, job, task and service events too, narrowed by a filter (JSON).
  await db.schema.alterTable('webhooks').addColumn('filter', 'text').execute();
  // One delivery per webhook and event occurrence: a final state is reported once however often
  // it is seen (a replica replaying it, a repeated report). Alert deliveries keep it null, since
  // one alert fires, resolves and fires again. `alert_id` holds the subject of any event.
  await db.schema.alterTable('webhook_deliveries').addColumn('dedupe_key', 'text').execute();
  await db.schema.createIndex('webhook_deliveries_dedupe').on('webhook_deliveries').columns(['webhook_id', 'dedupe_key']).unique().execute();
}

export const down = refuseDown;
