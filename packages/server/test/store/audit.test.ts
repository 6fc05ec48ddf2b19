import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { AuditService } from '../../src/audit/service.js';
import type { AuditRecord } from '../../src/http/audit-hook.js';
import { listAuditRows } from '../../src/store/queries/audit.js';
import { Store } from '../../src/store/store.js';
import { postgresTestUrl, storeTargets, useFreshStore, withDatabase } from '../helpers/databases.js';
import { testContext } from '../helpers/context.js';
import { T0 } from '../helpers/rows.js';

function record(i: number, over: Partial<AuditRecord> = {}): AuditRecord {
  return {
    at: T0 + i,
    actorId: 'tok_a',
    actorName: 'alice',
    role: 'operator',
    action: i % 2 ? 'jobs.create' : 'commands.create',
    target: `cmd_${i}`,
    sourceIp: '127.0.0.1',
    userAgent: 'test',
    status: 201,
    errorCode: null,
    summary: { type: 'exec.run' },
    ...over,
  };
}

describe.each(storeTargets())('audit log on $name', (target) => {
  const ctx = useFreshStore(target);

  it('chains appended rows 1, 2, 3… and verifies them', async () => {
    const audit = new AuditService(testContext(ctx.store));
    for (let i = 1; i <= 5; i++) audit.record(record(i));
    await audit.flush();
    const rows = (await listAuditRows(ctx.store.db, {})).reverse();
    expect(rows.map((r) => Number(r.id))).toEqual([1, 2, 3, 4, 5]);
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.prev_hash).toBe(rows[i - 1]!.hash);
    const report = await audit.verify();
    expect(report).toEqual({ ok: true, checked: 5, head: { id: 5, hash: rows[4]!.hash }, broken: null });
  });

  it('lists by actor, action prefix, target and time, newest first', async () => {
    const audit = new AuditService(testContext(ctx.store));
    audit.record(record(1));
    audit.record(record(2, { actorId: 'tok_b', actorName: 'bob' }));
    audit.record(record(3, { action: 'commands.approve' }));
    await audit.flush();
    expect((await audit.list({ actor: 'bob' })).map((e) => e.id)).toEqual([2]);
    expect((await audit.list({ actor: 'tok_a' })).map((e) => e.id)).toEqual([3, 1]);
    expect((await audit.list({ action: 'commands.*' })).map((e) => e.id)).toEqual([3, 2]);
    expect((await audit.list({ action: 'jobs.create' })).map((e) => e.id)).toEqual([1]);
    expect((await audit.list({ target: 'cmd_2' })).map((e) => e.id)).toEqual([2]);
    expect((await audit.list({ since: T0 + 2 })).map((e) => e.id)).toEqual([3, 2]);
    expect((await audit.list({ before: 3, limit: 1 })).map((e) => e.id)).toEqual([2]);
    expect((await audit.list({})).at(-1)!.summary).toEqual({ type: 'exec.run' });
  });

  it('detects a deleted row: the next one does not follow', async () => {
    const audit = new AuditService(testContext(ctx.store));
    for (let i = 1; i <= 4; i++) audit.record(record(i));
    await audit.flush();
    await sql`delete from audit_log where id = 2`.execute(ctx.store.db);
    const report = await audit.verify();
    expect(report.ok).toBe(false);
    expect(report.broken).toMatchObject({ id: 3, reason: 'gap', expected: 'id 2', found: 'id 3' });
  });

  it('detects an edited row, also when its own hash was recomputed', async () => {
    const audit = new AuditService(testContext(ctx.store));
    for (let i = 1; i <= 4; i++) audit.record(record(i));
    await audit.flush();
    await sql`update audit_log set actor_name = 'mallory' where id = 2`.execute(ctx.store.db);
    const edited = await audit.verify();
    expect(edited.broken).toMatchObject({ id: 2, reason: 'hash' });
    expect(edited.broken!.found).not.toBe(edited.broken!.expected);
    // Recompute row 2's hash to hide the edit: row 3's link to it no longer holds.
    await sql`update audit_log set hash = ${edited.broken!.expected} where id = 2`.execute(ctx.store.db);
    const rehashed = await audit.verify();
    expect(rehashed.broken).toMatchObject({ id: 3, reason: 'prev_hash', expected: edited.broken!.expected });
  });

  it('detects a deleted first row', async () => {
    const audit = new AuditService(testContext(ctx.store));
    for (let i = 1; i <= 2; i++) audit.record(record(i));
    await audit.flush();
    await sql`delete from audit_log where id = 1`.execute(ctx.store.db);
    expect((await audit.verify()).broken).toMatchObject({ id: 2, reason: 'gap' });
  });

  it('writes one row per source and action a minute for refused requests, counting the rest into the next', async () => {
    const clock = { now: T0 };
    const audit = new AuditService(testContext(ctx.store, clock));
    const refused = (at: number) => record(0, { at, status: 401, actorId: null, actorName: null, role: null, action: 'auth.failed', errorCode: 'unauthorized' });
    for (let i = 0; i < 500; i++) audit.record(refused(T0 + i));
    audit.record(record(1)); // an accepted action is never coalesced
    audit.record(refused(T0 + 61_000));
    await audit.flush();
    const rows = (await audit.list({})).reverse();
    expect(rows.map((r) => [r.action, r.status])).toEqual([
      ['auth.failed', 401],
      ['jobs.create', 201],
      ['auth.failed', 401],
    ]);
    expect(rows[2]!.summary.notLogged).toBe(499);
    expect((await audit.verify()).ok).toBe(true);
  });
});

// Two replicas append to one PostgreSQL database at once: the advisory lock keeps one chain.
describe('audit log with two replicas on postgres', () => {
  const [, pgTarget] = storeTargets();
  const ctx = useFreshStore(pgTarget!);

  it('stays linear when both append concurrently', async () => {
    const { db } = (await sql<{ db: string }>`select current_database() as db`.execute(ctx.store.db)).rows[0]!;
    const other = await Store.open(withDatabase(postgresTestUrl(), db));
    try {
      const a = new AuditService(testContext(ctx.store));
      const b = new AuditService(testContext(other));
      await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).append([record(i), record(i + 100)])));
      const report = await a.verify();
      expect(report).toMatchObject({ ok: true, checked: 40 });
    } finally {
      await other.close();
    }
  });
});
