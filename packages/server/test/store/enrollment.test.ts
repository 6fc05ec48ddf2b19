import { describe, expect, it } from 'vitest';
import { getEnrollmentToken, insertEnrollmentToken, takeEnrollmentUse } from '../../src/store/queries/enrollment.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { enrollmentTokenRow, T0 } from '../helpers/rows.js';

describe.each(storeTargets())('enrollment tokens on $name', (target) => {
  const ctx = useFreshStore(target);

  it('spends exactly uses_allowed uses when 10 agents race for a 3-use token', async () => {
    const { db } = ctx.store;
    const token = enrollmentTokenRow({ uses_allowed: 3 });
    await insertEnrollmentToken(db, token);
    const results = await Promise.all(Array.from({ length: 10 }, () => takeEnrollmentUse(db, token.id, T0)));
    const spent = results.filter((r) => r !== undefined);
    expect(spent).toHaveLength(3);
    expect(spent.map((r) => r.uses).sort()).toEqual([1, 2, 3]);
    expect((await getEnrollmentToken(db, token.id))?.uses).toBe(3);
    expect(await takeEnrollmentUse(db, token.id, T0)).toBeUndefined();
    expect((await getEnrollmentToken(db, token.id))?.uses).toBe(3);
  });

  it('a one-use token serves one of two concurrent agents', async () => {
    const { db } = ctx.store;
    const token = enrollmentTokenRow({ uses_allowed: 1 });
    await insertEnrollmentToken(db, token);
    const [a, b] = await Promise.all([takeEnrollmentUse(db, token.id, T0), takeEnrollmentUse(db, token.id, T0)]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
  });

  it('refuses an expired token and leaves its uses alone', async () => {
    const { db } = ctx.store;
    const token = enrollmentTokenRow({ uses_allowed: 5, expires_at: T0 + 1000 });
    await insertEnrollmentToken(db, token);
    expect(await takeEnrollmentUse(db, token.id, T0 + 1000)).toBeUndefined(); // expiry instant is already expired
    expect(await takeEnrollmentUse(db, token.id, T0 + 5000)).toBeUndefined();
    expect((await getEnrollmentToken(db, token.id))?.uses).toBe(0);
    const ok = await takeEnrollmentUse(db, token.id, T0 + 999);
    expect(ok?.uses).toBe(1);
  });

  it('refuses an unknown token', async () => {
    expect(await takeEnrollmentUse(ctx.store.db, 'enr_nope', T0)).toBeUndefined();
  });

  it('one token running out does not touch another', async () => {
    const { db } = ctx.store;
    const a = enrollmentTokenRow({ uses_allowed: 1 });
    const b = enrollmentTokenRow({ uses_allowed: 1 });
    await insertEnrollmentToken(db, a);
    await insertEnrollmentToken(db, b);
    expect(await takeEnrollmentUse(db, a.id, T0)).toBeDefined();
    expect(await takeEnrollmentUse(db, a.id, T0)).toBeUndefined();
    expect((await takeEnrollmentUse(db, b.id, T0))?.id).toBe(b.id);
  });
});
