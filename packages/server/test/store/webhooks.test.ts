import { describe, expect, it } from 'vitest';
import { newId } from '@steward/protocol';
import {
  claimDeliveries,
  deleteWebhook,
  getDelivery,
  insertDeliveries,
  insertWebhook,
  listAttempts,
  listDeliveries,
  recordAttempt,
  type ClaimOptions,
} from '../../src/store/queries/webhooks.js';
import type { WebhookDeliveriesTable } from '../../src/store/schema.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { T0 } from '../helpers/rows.js';

function delivery(webhookId: string, over: Partial<WebhookDeliveriesTable> = {}): WebhookDeliveriesTable {
  return {
    id: newId('whd'),
    webhook_id: webhookId,
    event: 'alert.fired',
    alert_id: 'alert_x',
    dedupe_key: null,
    body: '{}',
    state: 'pending',
    attempts: 0,
    next_attempt_at: T0,
    lease_owner: null,
    lease_until: null,
    created_at: T0,
    finished_at: null,
    ...over,
  };
}

function attempt(deliveryId: string, n: number, over: { status_code?: number | null; error?: string | null } = {}) {
  return { id: newId('wha'), delivery_id: deliveryId, n, at: T0 + n, duration_ms: 5, status_code: 200, error: null, ...over };
}

describe.each(storeTargets())('webhook deliveries on $name', (target) => {
  const ctx = useFreshStore(target);
  const opts = (owner: string, over: Partial<ClaimOptions> = {}): ClaimOptions => ({
    now: T0,
    owner,
    leaseMs: 30_000,
    limit: 100,
    skipLocked: target.name === 'postgres',
    ...over,
  });

  async function hook(): Promise<string> {
    const id = newId('wh');
    await insertWebhook(ctx.store.db, { id, name: 'h', url: 'http://127.0.0.1:1/', secret: 's', events: '[]', filter: null, created_at: T0 });
    return id;
  }

  it('queues a delivery once per webhook and dedupe key; deliveries without a key always queue', async () => {
    const [a, b] = [await hook(), await hook()];
    const keyed = (wh: string) => delivery(wh, { event: 'command.finished', alert_id: 'cmd_1', dedupe_key: 'command.finished:cmd_1' });
    expect(await insertDeliveries(ctx.store.db, [keyed(a), keyed(b)])).toBe(2);
    // The same end seen again (a replayed event, another replica): nothing new for either hook.
    expect(await insertDeliveries(ctx.store.db, [keyed(a), keyed(b)])).toBe(0);
    // Alerts carry no key: one alert fires, resolves and fires again.
    expect(await insertDeliveries(ctx.store.db, [delivery(a), delivery(a)])).toBe(2);
    const rows = await listDeliveries(ctx.store.db, a, {});
    expect(rows.map((r) => r.dedupe_key).sort()).toEqual(['command.finished:cmd_1', null, null].sort());
  });

  it('four replicas claiming at once each get different deliveries and together all of them', async () => {
    const wh = await hook();
    const rows = Array.from({ length: 40 }, () => delivery(wh));
    await insertDeliveries(ctx.store.db, rows);
    const claims = await Promise.all(['r1', 'r2', 'r3', 'r4'].map((r) => ctx.store.tx((db) => claimDeliveries(db, opts(r, { limit: 15 })))));
    const ids = claims.flat().map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(40);
    for (const [i, claim] of claims.entries()) for (const r of claim) expect(r).toMatchObject({ state: 'delivering', lease_owner: `r${i + 1}` });
    expect(await ctx.store.tx((db) => claimDeliveries(db, opts('r5')))).toEqual([]);
  });

  it('claims only what is due, and takes over a delivery whose lease ran out', async () => {
    const wh = await hook();
    const now = delivery(wh);
    const later = delivery(wh, { next_attempt_at: T0 + 5000 });
    await insertDeliveries(ctx.store.db, [now, later]);
    const first = await ctx.store.tx((db) => claimDeliveries(db, opts('r1', { leaseMs: 1000 })));
    expect(first.map((r) => r.id)).toEqual([now.id]);
    expect(await ctx.store.tx((db) => claimDeliveries(db, opts('r2', { now: T0 + 999 })))).toEqual([]);
    const takeover = await ctx.store.tx((db) => claimDeliveries(db, opts('r2', { now: T0 + 1000 })));
    expect(takeover.map((r) => [r.id, r.lease_owner])).toEqual([[now.id, 'r2']]);
    // r1 comes back after losing the lease: its result is not recorded.
    expect(await recordAttempt(ctx.store.db, now.id, 'r1', { attempt: attempt(now.id, 1), state: 'succeeded', nextAttemptAt: null })).toBe(false);
    expect(await listAttempts(ctx.store.db, [now.id])).toEqual([]);
    expect((await ctx.store.tx((db) => claimDeliveries(db, opts('r3', { now: T0 + 5000 })))).map((r) => r.id)).toEqual([later.id]);
  });

  it('an attempt that fails goes back to pending for later; success and giving up end it; the log keeps every attempt', async () => {
    const { db } = ctx.store;
    const wh = await hook();
    const d = delivery(wh);
    await insertDeliveries(db, [d]);
    await ctx.store.tx((t) => claimDeliveries(t, opts('r1')));
    expect(await recordAttempt(db, d.id, 'r1', { attempt: attempt(d.id, 1, { status_code: 500 }), state: 'pending', nextAttemptAt: T0 + 2000 })).toBe(true);
    expect(await getDelivery(db, d.id)).toMatchObject({ state: 'pending', attempts: 1, next_attempt_at: T0 + 2000, lease_owner: null });
    expect(await ctx.store.tx((t) => claimDeliveries(t, opts('r1', { now: T0 + 1999 })))).toEqual([]);
    await ctx.store.tx((t) => claimDeliveries(t, opts('r1', { now: T0 + 2000 })));
    expect(await recordAttempt(db, d.id, 'r1', { attempt: attempt(d.id, 2, { status_code: null, error: 'ECONNREFUSED' }), state: 'pending', nextAttemptAt: T0 + 6000 })).toBe(true);
    await ctx.store.tx((t) => claimDeliveries(t, opts('r2', { now: T0 + 6000 })));
    expect(await recordAttempt(db, d.id, 'r2', { attempt: attempt(d.id, 3), state: 'succeeded', nextAttemptAt: null })).toBe(true);
    expect(await getDelivery(db, d.id)).toMatchObject({ state: 'succeeded', attempts: 3, next_attempt_at: null, finished_at: T0 + 3 + 5 });
    // A finished delivery is never claimed or recorded again.
    expect(await ctx.store.tx((t) => claimDeliveries(t, opts('r3', { now: T0 + 99_999 })))).toEqual([]);
    expect(await recordAttempt(db, d.id, 'r2', { attempt: attempt(d.id, 4), state: 'failed', nextAttemptAt: null })).toBe(false);
    const log = await listAttempts(db, [d.id]);
    expect(log.map((a) => [a.n, a.status_code, a.error])).toEqual([
      [1, 500, null],
      [2, null, 'ECONNREFUSED'],
      [3, 200, null],
    ]);
  });

  it('an attempt whose log row cannot be written moves nothing: the delivery keeps its state and lease', async () => {
    const { db } = ctx.store;
    const d = delivery(await hook());
    await insertDeliveries(db, [d]);
    await ctx.store.tx((t) => claimDeliveries(t, opts('r1')));
    const taken = attempt(d.id, 1);
    await db.insertInto('webhook_attempts').values(taken).execute(); // the same id: the insert fails
    await expect(recordAttempt(db, d.id, 'r1', { attempt: { ...taken }, state: 'succeeded', nextAttemptAt: null })).rejects.toThrow();
    expect(await getDelivery(db, d.id)).toMatchObject({ state: 'delivering', lease_owner: 'r1', finished_at: null });
    // Written again with a fresh log row, it goes through.
    expect(await recordAttempt(db, d.id, 'r1', { attempt: attempt(d.id, 1), state: 'succeeded', nextAttemptAt: null })).toBe(true);
    expect(await getDelivery(db, d.id)).toMatchObject({ state: 'succeeded', lease_owner: null });
  });

  it('lists a webhook\'s deliveries newest first, and deleting the webhook removes them with their log', async () => {
    const { db } = ctx.store;
    const [a, b] = [await hook(), await hook()];
    const older = delivery(a, { created_at: T0 });
    const newer = delivery(a, { created_at: T0 + 1, state: 'failed', next_attempt_at: null });
    const other = delivery(b);
    await insertDeliveries(db, [older, newer, other]);
    await ctx.store.tx((t) => claimDeliveries(t, opts('r1')));
    await recordAttempt(db, older.id, 'r1', { attempt: attempt(older.id, 1), state: 'succeeded', nextAttemptAt: null });
    expect((await listDeliveries(db, a, {})).map((d) => d.id)).toEqual([newer.id, older.id]);
    expect((await listDeliveries(db, a, { state: 'failed' })).map((d) => d.id)).toEqual([newer.id]);
    expect(await ctx.store.tx((t) => deleteWebhook(t, a))).toBe(true);
    expect(await listDeliveries(db, a, {})).toEqual([]);
    expect(await listAttempts(db, [older.id])).toEqual([]);
    expect((await listDeliveries(db, b, {})).map((d) => d.id)).toEqual([other.id]);
    expect(await ctx.store.tx((t) => deleteWebhook(t, a))).toBe(false);
  });
});
