import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '@steward/protocol';
import { REQUEST_HASH_KEY, RequestHasher } from '../../src/security/request-hash.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';

describe.each(storeTargets())('request hashes on $name', (target) => {
  const fresh = useFreshStore(target);

  it('are HMACs under one key in the store: replicas agree, a plain SHA-256 of the request does not match', async () => {
    const request = { nodeId: 'node_a', type: 'ftp.user.apply', payload: { username: 'bob', password: 'hunter22' } };
    // Two replicas racing to make the key end with one.
    const [a, b] = [new RequestHasher(fresh.store), new RequestHasher(fresh.store)];
    const [ha, hb] = await Promise.all([a.hash(request), b.hash(request)]);
    expect(ha).toBe(hb);
    expect(ha).toMatch(/^[0-9a-f]{64}$/);
    expect(ha).not.toBe(createHash('sha256').update(canonicalJson(request)).digest('hex'));
    expect(await a.hash({ ...request, payload: { ...request.payload, password: 'hunter23' } })).not.toBe(ha);
    const keys = await fresh.store.db.selectFrom('meta').selectAll().where('key', '=', REQUEST_HASH_KEY).execute();
    expect(keys).toHaveLength(1);
    expect(keys[0]!.value).toMatch(/^[0-9a-f]{64}$/);
  });
});
