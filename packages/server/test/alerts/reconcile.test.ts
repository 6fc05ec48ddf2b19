import { describe, expect, it } from 'vitest';
import type { CheckStatus, MonitorReport } from '@steward/protocol';
import { CommandFailureAlerts } from '../../src/alerts/command-alerts.js';
import { MonitorAlerts } from '../../src/alerts/monitor-alerts.js';
import { NodeOfflineAlerts } from '../../src/alerts/node-alerts.js';
import { insertWebhook } from '../../src/store/queries/webhooks.js';
import { insertNode, transitionNode } from '../../src/store/queries/nodes.js';
import { listAlerts } from '../../src/store/queries/alerts.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { nodeRow, T0 } from '../helpers/rows.js';
import { alertContext } from './helpers.js';

function check(id: string, state: CheckStatus['state']): CheckStatus {
  return { id, kind: 'tcp', severity: 'warning', state, failures: 0, successes: 0, since: T0, lastRunAt: T0, message: `${id} says ${state}`, summary: `tcp ${id}` };
}
const report = (...checks: CheckStatus[]): MonitorReport => ({ source: 'config', checks });

describe.each(storeTargets())('alert reconcilers on $name', (target) => {
  const s = useFreshStore(target);

  it('monitor reports repair lost events: open what fires, close what recovered or vanished, no repeats', async () => {
    const { ctx, alerts, events } = alertContext(s.store);
    const node = nodeRow({ name: 'web-1' });
    await insertNode(s.store.db, node);
    const m = new MonitorAlerts(ctx, alerts);
    await m.report(node.id, report(check('a', 'firing'), check('b', 'recovering'), check('c', 'failing')));
    const open = async () => (await listAlerts(s.store.db, { state: 'firing' })).map((a) => [a.key, a.count, a.summary]).sort();
    expect(await open()).toEqual([
      [`monitor:${node.id}:a`, 1, 'web-1: tcp a failing: a says firing'],
      [`monitor:${node.id}:b`, 1, 'web-1: tcp b failing: b says recovering'],
    ]);
    // Every heartbeat repeats the report; nothing changes and nothing is counted twice.
    await m.report(node.id, report(check('a', 'firing'), check('b', 'recovering'), check('c', 'failing')));
    await m.report(node.id, report(check('a', 'firing'), check('b', 'recovering')));
    expect((await open()).map((r) => r[1])).toEqual([1, 1]);
    // a recovered (its resolved event was lost), b was removed from the set.
    await m.report(node.id, report(check('a', 'ok')));
    expect(await open()).toEqual([]);
    const closed = await listAlerts(s.store.db, { state: 'resolved' });
    expect(closed.map((a) => [a.key.split(':')[2], a.resolve_summary]).sort()).toEqual([
      ['a', 'tcp a: a says ok'],
      ['b', 'check b no longer exists'],
    ]);
    expect(events.sort()).toEqual(
      [`alert.fired monitor:${node.id}:a`, `alert.fired monitor:${node.id}:b`, `alert.resolved monitor:${node.id}:a`, `alert.resolved monitor:${node.id}:b`].sort(),
    );
  });

  it('a control plane that restarts (empty memory) finds an alert left open for a check that recovered meanwhile', async () => {
    const first = alertContext(s.store);
    const node = nodeRow();
    await insertNode(s.store.db, node);
    await new MonitorAlerts(first.ctx, first.alerts).event(node.id, { check: check('x', 'firing'), transition: 'fired' });
    const second = alertContext(s.store);
    await new MonitorAlerts(second.ctx, second.alerts).report(node.id, report(check('x', 'ok')));
    expect(await listAlerts(s.store.db, { state: 'firing' })).toEqual([]);
  });

  it('the fresh checks of a restarted agent (unknown, failing) hold the open alert; it then stays when firing, resolves when ok', async () => {
    const { ctx, alerts, events } = alertContext(s.store);
    const node = nodeRow({ name: 'web-1' });
    await insertNode(s.store.db, node);
    const m = new MonitorAlerts(ctx, alerts);
    await m.report(node.id, report(check('a', 'firing'), check('b', 'firing')));
    const before = await listAlerts(s.store.db, { state: 'firing' });
    // The agent restarts: both checks start again from nothing.
    await m.report(node.id, report(check('a', 'unknown'), check('b', 'unknown')));
    await m.report(node.id, report(check('a', 'failing'), check('b', 'failing')));
    expect(await listAlerts(s.store.db, { state: 'firing' })).toEqual(before);
    // a fails on and fires again (its event); b recovered meanwhile: ok closes it at once.
    await m.event(node.id, { check: check('a', 'firing'), transition: 'fired' });
    await m.report(node.id, report(check('a', 'firing'), check('b', 'ok')));
    expect((await listAlerts(s.store.db, { state: 'firing' })).map((a) => a.id)).toEqual(before.filter((a) => a.key.endsWith(':a')).map((a) => a.id));
    expect(events.sort()).toEqual([`alert.fired monitor:${node.id}:a`, `alert.fired monitor:${node.id}:b`, `alert.resolved monitor:${node.id}:b`].sort());
  });

  it('a node offline longer than the delay fires once; back online resolves; deleted resolves', async () => {
    const { ctx, alerts, clock } = alertContext(s.store);
    const n1 = nodeRow({ name: 'n1', status: 'offline', status_changed_at: T0 });
    const n2 = nodeRow({ name: 'n2', status: 'offline', status_changed_at: T0 });
    await insertNode(s.store.db, n1);
    await insertNode(s.store.db, n2);
    const sweeper = new NodeOfflineAlerts(ctx, alerts, 60_000);
    clock.now = T0 + 59_999;
    await sweeper.sweep(clock.now);
    expect(await listAlerts(s.store.db, {})).toEqual([]);
    clock.now = T0 + 60_000;
    await sweeper.sweep(clock.now);
    await sweeper.sweep(clock.now + 1000);
    const open = await listAlerts(s.store.db, { state: 'firing' });
    const byName = (a: unknown[], b: unknown[]) => String(a[3]).localeCompare(String(b[3]));
    expect(open.map((a) => [a.key, a.count, a.severity, a.summary]).sort(byName)).toEqual([
      [`node:${n1.id}:offline`, 1, 'critical', 'node n1 is offline'],
      [`node:${n2.id}:offline`, 1, 'critical', 'node n2 is offline'],
    ]);
    await transitionNode(s.store.db, n1.id, 'online', clock.now);
    await s.store.db.deleteFrom('nodes').where('id', '=', n2.id).execute();
    await sweeper.sweep(clock.now);
    const closed = await listAlerts(s.store.db, { state: 'resolved' });
    expect(closed.map((a) => a.resolve_summary).sort()).toEqual(['node n1 is back online', 'node was deleted']);
  });

  it('failed commands of the asked types fire (counting repeats) and the next success resolves; other types are ignored', async () => {
    const { ctx, alerts } = alertContext(s.store);
    const node = nodeRow({ name: 'w' });
    await insertNode(s.store.db, node);
    const h = new CommandFailureAlerts(ctx, alerts, ['nginx.*']);
    const ev = (type: string, state: 'failed' | 'succeeded' | 'timed_out') =>
      h.handle({ kind: 'command.state', at: T0, commandId: 'cmd_x', nodeId: node.id, jobId: null, type, state });
    await ev('nginx.site.apply', 'failed');
    await ev('nginx.site.apply', 'timed_out');
    await ev('exec.run', 'failed');
    const open = await listAlerts(s.store.db, { state: 'firing' });
    expect(open.map((a) => [a.key, a.count, a.summary])).toEqual([[`command:${node.id}:nginx.site.apply`, 2, 'nginx.site.apply timed out on w']]);
    await ev('nginx.site.apply', 'succeeded');
    expect(await listAlerts(s.store.db, { state: 'firing' })).toEqual([]);
  });

  it('an alert change and its webhook notification commit together', async () => {
    const { alerts } = alertContext(s.store);
    await insertWebhook(s.store.db, { id: 'wh_1', name: 'a', url: 'http://127.0.0.1:1/', secret: 's', events: '["alert.fired"]', filter: null, created_at: T0 });
    await insertWebhook(s.store.db, { id: 'wh_2', name: 'b', url: 'http://127.0.0.1:1/', secret: 's', events: '["alert.resolved"]', filter: null, created_at: T0 });
    await alerts.fire({ key: 'k', source: 'test', severity: 'info', summary: 'x' });
    await alerts.fire({ key: 'k', source: 'test', severity: 'info', summary: 'again' });
    await alerts.resolve('k', 'done');
    const rows = await s.store.db.selectFrom('webhook_deliveries').select(['webhook_id', 'event', 'body']).orderBy('created_at').execute();
    // A repeat fire is not a new notification; each webhook gets only the events it asked for.
    expect(rows.map((r) => [r.webhook_id, r.event])).toEqual([
      ['wh_1', 'alert.fired'],
      ['wh_2', 'alert.resolved'],
    ]);
    expect(JSON.parse(rows[1]!.body)).toMatchObject({ event: 'alert.resolved', alert: { key: 'k', state: 'resolved', resolveSummary: 'done', count: 2 } });
  });
});
