import { describe, expect, it } from 'vitest';
import { listNodeSummaryRows } from '../../src/store/queries/dashboard.js';
import { countCommandsByTypeAndState, countCommandsInState, countNodesByStatus } from '../../src/store/queries/metrics.js';
import { insertCommands } from '../../src/store/queries/commands.js';
import { insertNode } from '../../src/store/queries/nodes.js';
import { EMPTY_INVENTORY, toJson } from '../../src/store/rows.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { commandRow, nodeRow } from '../helpers/rows.js';

describe.each(storeTargets())('dashboard and metrics queries on $name', (target) => {
  const ctx = useFreshStore(target);

  it('summarises nodes with two inventory fields read in the database, sorted by name', async () => {
    const { db, dialect } = ctx.store;
    const inventory = { ...EMPTY_INVENTORY, hostname: 'host-"b"', agentVersion: '1.2.3', commandTypes: [{ type: 'x.y', module: 'x', safeToRerun: true }] };
    await insertNode(db, nodeRow({ name: 'b', inventory: toJson(inventory), labels: toJson({ env: 'lab' }) }));
    await insertNode(db, nodeRow({ name: 'a', status: 'offline', protocol: 'backupx', external_id: 'enr_1' }));
    const rows = await listNodeSummaryRows(db, dialect, 10);
    expect(rows.map((r) => r.name)).toEqual(['a', 'b']);
    expect(rows[1]).toMatchObject({ hostname: 'host-"b"', agent_version: '1.2.3', labels: toJson({ env: 'lab' }) });
    expect(rows[0]).toMatchObject({ hostname: '', agent_version: '', status: 'offline', protocol: 'backupx' });
    expect(rows[1]!.protocol).toBe('steward');
    expect(await listNodeSummaryRows(db, dialect, 1)).toHaveLength(1);
  });

  it('counts nodes by status and commands by type and state', async () => {
    const { db } = ctx.store;
    const n1 = nodeRow();
    const n2 = nodeRow({ status: 'offline' });
    await insertNode(db, n1);
    await insertNode(db, n2);
    await insertCommands(db, [
      commandRow({ node_id: n1.id, type: 'exec.run', state: 'pending' }),
      commandRow({ node_id: n1.id, type: 'exec.run', state: 'pending' }),
      commandRow({ node_id: n2.id, type: 'sys.ping', state: 'succeeded' }),
    ]);
    expect((await countNodesByStatus(db)).sort((a, b) => a.status.localeCompare(b.status))).toEqual([
      { status: 'offline', n: 1 },
      { status: 'online', n: 1 },
    ]);
    expect((await countCommandsByTypeAndState(db)).sort((a, b) => a.type.localeCompare(b.type))).toEqual([
      { type: 'exec.run', state: 'pending', n: 2 },
      { type: 'sys.ping', state: 'succeeded', n: 1 },
    ]);
    expect(await countCommandsInState(db, 'pending')).toBe(2);
    expect(await countCommandsInState(db, 'running')).toBe(0);
  });
});
