import { describe, expect, it } from 'vitest';
import type { StewardEvent } from '@steward/protocol';
import { WebhookEventNotifier } from '../../src/alerts/webhooks/event-notifier.js';
import { insertNode } from '../../src/store/queries/nodes.js';
import { insertWebhook, listDeliveries } from '../../src/store/queries/webhooks.js';
import { toJson } from '../../src/store/rows.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { nodeRow, T0 } from '../helpers/rows.js';
import { alertContext } from './helpers.js';

describe.each(storeTargets())('webhooks for service events on $name', (target) => {
  const s = useFreshStore(target);

  it('queues a service.state change once for the hooks whose filter matches, and not again when the same change is replayed', async () => {
    const { ctx } = alertContext(s.store);
    await insertNode(s.store.db, nodeRow({ id: 'node_web', name: 'web-1', labels: toJson({ role: 'web' }) }));
    await insertNode(s.store.db, nodeRow({ id: 'node_db', name: 'db-1', labels: toJson({ role: 'db' }) }));
    const hook = (id: string, filter: unknown) =>
      insertWebhook(s.store.db, { id, name: id, url: 'http://127.0.0.1:1/', secret: 's', events: '["service.state"]', filter: filter ? toJson(filter) : null, created_at: T0 });
    await hook('wh_any', null);
    await hook('wh_web_fatal', { types: ['nginx'], states: ['fatal'], selector: 'role=web' });
    let kicks = 0;
    const notifier = new WebhookEventNotifier(ctx, () => kicks++);
    const change = (nodeId: string | null, state: 'running' | 'fatal' | null, at: number): StewardEvent => ({
      kind: 'service.state',
      at,
      service: 'nginx',
      nodeId,
      state,
      version: '1.0',
      revision: 3,
      reason: state === 'fatal' ? 'crashed 5 times' : null,
    });

    expect(await notifier.handle(change('node_db', 'fatal', T0 + 1))).toBe(1); // wrong node for the filtered hook
    expect(await notifier.handle(change('node_web', 'running', T0 + 2))).toBe(1); // wrong state
    expect(await notifier.handle(change('node_web', 'fatal', T0 + 3))).toBe(2);
    // The same change replayed: nothing new.
    expect(await notifier.handle(change('node_web', 'fatal', T0 + 3))).toBe(0);
    // A desired-state change (no node) is not a webhook event.
    expect(await notifier.handle(change(null, null, T0 + 4))).toBe(0);
    expect(kicks).toBe(3);

    const filtered = await listDeliveries(s.store.db, 'wh_web_fatal', {});
    expect(filtered).toHaveLength(1);
    expect(JSON.parse(filtered[0]!.body)).toMatchObject({
      event: 'service.state',
      service: { name: 'nginx', nodeId: 'node_web', nodeName: 'web-1', state: 'fatal', revision: 3, reason: 'crashed 5 times' },
    });
    expect(filtered[0]!.alert_id).toBe('nginx@node_web');
    expect(await listDeliveries(s.store.db, 'wh_any', {})).toHaveLength(3);
  });

  it('a burst of events reads the subscribed webhooks once, not once per event', async () => {
    const { ctx } = alertContext(s.store);
    let selects = 0;
    const stop = s.store.onQuery((t) => void (t.kind === 'SelectQueryNode' && selects++));
    const notifier = new WebhookEventNotifier(ctx, () => {});
    // No hook wants command events: each ends at the subscription check, whose read is shared.
    const ends = Array.from({ length: 50 }, (_, i): StewardEvent => ({ kind: 'command.state', at: T0 + i, commandId: `cmd_${i}`, nodeId: 'node_x', jobId: null, type: 'sys.ping', state: 'succeeded', deliveries: 1 }) as StewardEvent);
    expect(await Promise.all(ends.map((e) => notifier.handle(e)))).toEqual(ends.map(() => 0));
    stop();
    expect(selects).toBe(1);
  });
});
