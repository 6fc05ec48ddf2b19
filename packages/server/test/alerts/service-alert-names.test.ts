import { describe, expect, it } from 'vitest';
import type { ServiceNodeReport } from '@steward/protocol';
import { StatusRecorder } from '../../src/services/status-recorder.js';
import { insertNode } from '../../src/store/queries/nodes.js';
import { listAlerts } from '../../src/store/queries/alerts.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { nodeRow, T0 } from '../helpers/rows.js';
import { alertContext } from './helpers.js';

function svc(state: ServiceNodeReport['state'], reason: string | null = null): ServiceNodeReport {
  return { name: 'api', revision: 1, version: '1.0', state, pid: null, startedAt: null, restarts: 3, reason, lastOutcome: null, limits: 'none', exits: [] };
}

describe.each(storeTargets())('service alerts name the node on $name', (target) => {
  const s = useFreshStore(target);

  it('a fatal service alert and its resolution say the node name, not its id', async () => {
    const { ctx } = alertContext(s.store);
    const node = nodeRow({ name: 'web-1' });
    await insertNode(s.store.db, node);
    const recorder = new StatusRecorder(ctx);
    await recorder.one(node.id, svc('fatal', 'crashed 5 times in 60s'), T0);
    const [fired] = await listAlerts(s.store.db, { state: 'firing' });
    expect(fired?.summary).toBe('service api is fatal on web-1: crashed 5 times in 60s');
    await recorder.one(node.id, svc('running'), T0 + 1000);
    const [resolved] = await listAlerts(s.store.db, { state: 'resolved' });
    expect(resolved?.resolve_summary).toBe('service api on web-1 is running again');
  });
});
