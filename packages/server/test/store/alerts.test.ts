import { describe, expect, it } from 'vitest';
import { newId } from '@steward/protocol';
import {
  ackAlert,
  ensureAlert,
  fireAlert,
  getAlert,
  listAlerts,
  listOpenAlerts,
  resolveAlert,
  type AlertFire,
} from '../../src/store/queries/alerts.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { T0 } from '../helpers/rows.js';

function fire(key: string, over: Partial<AlertFire> = {}): AlertFire {
  return { id: newId('alert'), key, source: 'monitor', node_id: 'node_a', severity: 'warning', summary: `${key} is bad`, details: '{}', ...over };
}

describe.each(storeTargets())('alerts on $name', (target) => {
  const ctx = useFreshStore(target);

  it('firing one key from 10 callers at once opens one alert with count 10', async () => {
    const { db } = ctx.store;
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => fireAlert(db, fire('k1', { summary: `s${i}` }), T0 + i)));
    expect(outcomes.filter((o) => o.created)).toHaveLength(1);
    expect(new Set(outcomes.map((o) => o.row.id)).size).toBe(1);
    const rows = await listAlerts(db, {});
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ key: 'k1', state: 'firing', count: 10 });
  });

  it('firing again updates the open alert; after resolve the key opens a new alert', async () => {
    const { db } = ctx.store;
    const first = await fireAlert(db, fire('k2'), T0);
    const again = await fireAlert(db, fire('k2', { summary: 'worse', severity: 'critical' }), T0 + 500);
    expect(again).toMatchObject({ created: false, row: { id: first.row.id, count: 2, summary: 'worse', severity: 'critical', first_fired_at: T0, last_fired_at: T0 + 500 } });
    const resolved = await resolveAlert(db, 'k2', T0 + 1000, 'back');
    expect(resolved).toMatchObject({ id: first.row.id, state: 'resolved', resolved_at: T0 + 1000, resolve_summary: 'back' });
    expect(await resolveAlert(db, 'k2', T0 + 1100, 'again')).toBeUndefined();
    const next = await fireAlert(db, fire('k2'), T0 + 2000);
    expect(next.created).toBe(true);
    expect(next.row.id).not.toBe(first.row.id);
    expect(next.row.count).toBe(1);
    expect((await getAlert(db, first.row.id))?.resolve_summary).toBe('back');
  });

  it('ensure opens once and leaves the open alert alone, also under concurrency', async () => {
    const { db } = ctx.store;
    const outcomes = await Promise.all(Array.from({ length: 6 }, (_, i) => ensureAlert(db, fire('k3'), T0 + i)));
    expect(outcomes.filter((o) => o.created)).toHaveLength(1);
    const row = (await listOpenAlerts(db, 'monitor', 'node_a'))[0]!;
    expect(row.count).toBe(1);
  });

  it('ack records who and when once; an unknown id is undefined; a refired key after resolve is not acked', async () => {
    const { db } = ctx.store;
    const a = await fireAlert(db, fire('k4'), T0);
    const acked = await ackAlert(db, a.row.id, 'alice', T0 + 10);
    expect(acked).toMatchObject({ changed: true, row: { acked_by: 'alice', acked_at: T0 + 10 } });
    const twice = await ackAlert(db, a.row.id, 'bob', T0 + 20);
    expect(twice).toMatchObject({ changed: false, row: { acked_by: 'alice', acked_at: T0 + 10 } });
    expect(await ackAlert(db, 'alert_nope', 'bob', T0)).toBeUndefined();
    // Still open and acked: firing again updates it and keeps the ack.
    expect((await fireAlert(db, fire('k4'), T0 + 30)).row).toMatchObject({ id: a.row.id, acked_by: 'alice' });
    await resolveAlert(db, 'k4', T0 + 40, null);
    const fresh = await fireAlert(db, fire('k4'), T0 + 50);
    expect(fresh.created).toBe(true);
    expect(fresh.row.acked_at).toBeNull();
  });

  it('lists with filters on state, node, acked and source', async () => {
    const { db } = ctx.store;
    const a = await fireAlert(db, fire('a', { node_id: 'n1' }), T0);
    await fireAlert(db, fire('b', { node_id: 'n2', source: 'node' }), T0 + 1);
    await fireAlert(db, fire('c', { node_id: null, source: 'command' }), T0 + 2);
    await resolveAlert(db, 'b', T0 + 3, null);
    await ackAlert(db, a.row.id, 'x', T0 + 4);
    const keys = async (f: Parameters<typeof listAlerts>[1]) => (await listAlerts(db, f)).map((r) => r.key);
    expect(await keys({})).toEqual(['c', 'b', 'a']);
    expect(await keys({ state: 'firing' })).toEqual(['c', 'a']);
    expect(await keys({ state: 'resolved' })).toEqual(['b']);
    expect(await keys({ nodeId: 'n1' })).toEqual(['a']);
    expect(await keys({ acked: true })).toEqual(['a']);
    expect(await keys({ acked: false })).toEqual(['c', 'b']);
    expect(await keys({ source: 'node' })).toEqual(['b']);
    expect(await keys({ limit: 1 })).toEqual(['c']);
  });
});
