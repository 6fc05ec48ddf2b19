import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { isStoreUnavailable } from '../../src/store/unavailable.js';
import { storeTargets } from '../helpers/databases.js';

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  return new Promise((ok) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
  });
}

describe('isStoreUnavailable (503 store_unavailable vs 500)', () => {
  it('is true for a PostgreSQL that does not answer', async () => {
    const store = await Store.open(`postgres://postgres@127.0.0.1:${await closedPort()}/steward`).catch((e: unknown) => e);
    expect(store).toBeInstanceOf(Error);
    expect(isStoreUnavailable(store)).toBe(true);
  });

  it('is false for a statement the database refuses, and for errors that are not the store’s', async () => {
    const { target, drop } = await storeTargets().find((t) => t.name === 'postgres')!.create();
    const store = await Store.open(target);
    try {
      const err = await store.db.selectFrom('no_such_table' as never).selectAll().execute().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(isStoreUnavailable(err)).toBe(false);
      expect(isStoreUnavailable(new TypeError('x is undefined'))).toBe(false);
      expect(isStoreUnavailable('ECONNREFUSED')).toBe(false);
    } finally {
      await store.close();
      await drop();
    }
  });
});
