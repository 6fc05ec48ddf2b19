import { sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { notifyChannel } from '../../src/store/queries/relay.js';
import { postgresTestUrl, storeTargets, useFreshStore, withDatabase } from '../helpers/databases.js';

// PostgreSQL only: replicas relay through NOTIFY on their shared database.
describe('notifyChannel on postgres', () => {
  const ctx = useFreshStore(storeTargets().find((t) => t.name === 'postgres')!);

  it('delivers the payload as given (quotes and all) to a listener of the channel', async () => {
    const { rows } = await sql<{ db: string }>`select current_database() as db`.execute(ctx.store.db);
    const listener = new pg.Client({ connectionString: withDatabase(postgresTestUrl(), rows[0]!.db) });
    await listener.connect();
    try {
      await listener.query('LISTEN steward_test_channel');
      const heard = new Promise<{ channel: string; payload?: string }>((resolve) => listener.once('notification', resolve));
      const payload = JSON.stringify({ kind: 'dispatch', note: "it's $1 -- not SQL" });
      await notifyChannel(ctx.store.db, 'steward_test_channel', payload);
      expect(await heard).toMatchObject({ channel: 'steward_test_channel', payload });
    } finally {
      await listener.end();
    }
  });
});
