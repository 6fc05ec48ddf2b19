import { describe, expect, it } from 'vitest';
import {
  clearConnection,
  deleteNodeRow,
  findLostNodes,
  findNodeRow,
  getNodeCredentials,
  getNodeRow,
  insertNode,
  listNodeRows,
  listNodeTargets,
  listOnlineNodeRefs,
  listNodesOfProtocol,
  nodeNameTaken,
  recordHeartbeats,
  transitionNode,
  updateNodeRow,
} from '../../src/store/queries/nodes.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { nodeRow, T0 } from '../helpers/rows.js';

describe.each(storeTargets())('nodes on $name', (target) => {
  const ctx = useFreshStore(target);

  it('finds a node by id or by name', async () => {
    const { db } = ctx.store;
    const node = nodeRow({ name: 'web-1' });
    await insertNode(db, node);
    expect(await findNodeRow(db, node.id)).toEqual(node);
    expect(await findNodeRow(db, 'web-1')).toEqual(node);
    expect(await getNodeRow(db, 'web-1')).toBeUndefined(); // by id only
    expect(await findNodeRow(db, 'web-2')).toBeUndefined();
  });

  it('reads only what authentication needs: the credential hashes and the revocation, by id', async () => {
    const { db } = ctx.store;
    const node = nodeRow({ name: 'auth-1', credential_hash: 'a'.repeat(64), next_credential_hash: 'b'.repeat(64), revoked_at: T0 });
    await insertNode(db, node);
    expect(await getNodeCredentials(db, node.id)).toEqual({ id: node.id, credential_hash: 'a'.repeat(64), next_credential_hash: 'b'.repeat(64), revoked_at: T0 });
    expect(await getNodeCredentials(db, 'auth-1')).toBeUndefined(); // by id only
  });

  it('a heartbeat stored late never moves last seen backwards', async () => {
    const { db } = ctx.store;
    const node = nodeRow({ name: 'beat-1', last_seen_at: null });
    await insertNode(db, node);
    const beat = (stats: string, connectionId: string, now: number) => recordHeartbeats(db, [{ id: node.id, stats, connectionId, now }]);
    expect(await beat('{"a":1}', 'conn-b', T0 + 2000)).toEqual(new Map([[node.id, node.status]]));
    expect((await getNodeRow(db, node.id))?.last_seen_at).toBe(T0 + 2000);
    // The replica the agent left stores its last heartbeat after the new one's: stats move, last seen does not.
    await beat('{"a":0}', 'conn-a', T0 + 1000);
    expect(await getNodeRow(db, node.id)).toMatchObject({ last_seen_at: T0 + 2000, stats: '{"a":0}', connection_id: 'conn-a' });
    await beat('{"a":2}', 'conn-b', T0 + 3000);
    expect((await getNodeRow(db, node.id))?.last_seen_at).toBe(T0 + 3000);
  });

  it('stores many heartbeats in one statement: each node its own, the later of two, none for a missing node', async () => {
    const { db } = ctx.store;
    const nodes = [nodeRow({ name: 'many-1', status: 'online' }), nodeRow({ name: 'many-2', status: 'offline' }), nodeRow({ name: 'many-3', status: 'online' })];
    for (const n of nodes) await insertNode(db, n);
    const statuses = await recordHeartbeats(db, [
      { id: nodes[0]!.id, stats: '{"n":1}', connectionId: 'c1', now: T0 + 10 },
      { id: nodes[1]!.id, stats: '{"n":2}', connectionId: 'c2', now: T0 + 20 },
      { id: nodes[0]!.id, stats: '{"n":1.5}', connectionId: 'c1b', now: T0 + 30 },
      { id: 'node_missing', stats: '{}', connectionId: 'c', now: T0 },
    ]);
    expect(statuses).toEqual(new Map([[nodes[0]!.id, 'online'], [nodes[1]!.id, 'offline']]));
    expect(await getNodeRow(db, nodes[0]!.id)).toMatchObject({ stats: '{"n":1.5}', connection_id: 'c1b', last_seen_at: T0 + 30 });
    expect(await getNodeRow(db, nodes[1]!.id)).toMatchObject({ stats: '{"n":2}', connection_id: 'c2', last_seen_at: T0 + 20 });
    expect(await getNodeRow(db, nodes[2]!.id)).toEqual(nodes[2]); // not in the batch: untouched
    expect(await recordHeartbeats(db, [])).toEqual(new Map());
    // As many as one flush sends (the batch's cap), with bind parameters on both databases.
    const fleet = Array.from({ length: 1000 }, (_, i) => nodeRow({ name: `fleet-${i}` }));
    for (const n of fleet) await insertNode(db, n);
    const all = await recordHeartbeats(db, fleet.map((n, i) => ({ id: n.id, stats: `{"i":${i}}`, connectionId: `c${i}`, now: T0 + i })));
    expect(all.size).toBe(1000);
    expect(await getNodeRow(db, fleet[999]!.id)).toMatchObject({ stats: '{"i":999}', last_seen_at: T0 + 999 });
  });

  it('an id wins over a name that spells it', async () => {
    const { db } = ctx.store;
    const victim = nodeRow({ name: 'victim' });
    const impostor = nodeRow({ name: victim.id });
    await insertNode(db, victim);
    await insertNode(db, impostor);
    expect((await findNodeRow(db, victim.id))?.id).toBe(victim.id);
    expect((await findNodeRow(db, impostor.id))?.id).toBe(impostor.id);
  });

  it('enforces unique names', async () => {
    const { db } = ctx.store;
    const a = nodeRow({ name: 'same' });
    await insertNode(db, a);
    await expect(insertNode(db, nodeRow({ name: 'same' }))).rejects.toThrow();
    expect(await listNodeRows(db)).toHaveLength(1);
    expect(await nodeNameTaken(db, 'same')).toBe(true);
    expect(await nodeNameTaken(db, 'same', a.id)).toBe(false);
    expect(await nodeNameTaken(db, 'other')).toBe(false);
    // Renaming onto a taken name fails too.
    const b = nodeRow({ name: 'b' });
    await insertNode(db, b);
    await expect(updateNodeRow(db, b.id, { name: 'same' })).rejects.toThrow();
    expect((await getNodeRow(db, b.id))?.name).toBe('b');
  });

  it('lists by name and status, updates and deletes', async () => {
    const { db } = ctx.store;
    await insertNode(db, nodeRow({ name: 'c', status: 'offline' }));
    await insertNode(db, nodeRow({ name: 'a' }));
    const b = nodeRow({ name: 'b' });
    await insertNode(db, b);
    expect((await listNodeRows(db)).map((n) => n.name)).toEqual(['a', 'b', 'c']);
    expect((await listNodeRows(db, { status: 'online' })).map((n) => n.name)).toEqual(['a', 'b']);
    expect((await listNodeRows(db, { limit: 1 })).map((n) => n.name)).toEqual(['a']);
    expect((await updateNodeRow(db, b.id, { labels: '{"zone":"x"}' }))?.labels).toBe('{"zone":"x"}');
    expect(await updateNodeRow(db, 'node_missing', { labels: '{}' })).toBeUndefined();
    expect(await deleteNodeRow(db, b.id)).toBe(true);
    expect(await deleteNodeRow(db, b.id)).toBe(false);
    expect(await getNodeRow(db, b.id)).toBeUndefined();
  });

  it('listNodeTargets gives every node\'s id, name, labels, inventory and protocol by name, nothing else', async () => {
    const { db } = ctx.store;
    const b = nodeRow({ name: 'b-node', status: 'offline', stats: '{"big":true}', labels: '{"role":"db"}' });
    const a = nodeRow({ name: 'a-node', protocol: 'bootagent' });
    await insertNode(db, b);
    await insertNode(db, a);
    expect(await listNodeTargets(db)).toEqual([
      { id: a.id, name: 'a-node', labels: a.labels, inventory: a.inventory, protocol: 'bootagent' },
      { id: b.id, name: 'b-node', labels: '{"role":"db"}', inventory: b.inventory, protocol: 'steward' },
    ]);
  });

  it('listOnlineNodeRefs gives the online nodes\' id, name, labels, protocol and revocation only', async () => {
    const { db } = ctx.store;
    const on = nodeRow({ name: 'on-1', status: 'online', labels: '{"role":"web"}' });
    const off = nodeRow({ name: 'off-1', status: 'offline' });
    await insertNode(db, on);
    await insertNode(db, off);
    expect(await listOnlineNodeRefs(db)).toEqual([{ id: on.id, name: 'on-1', labels: '{"role":"web"}', protocol: 'steward', revoked_at: null }]);
  });

  it('transitionNode moves online → offline once', async () => {
    const { db } = ctx.store;
    const node = nodeRow({ status: 'online' });
    await insertNode(db, node);
    const moved = await transitionNode(db, node.id, 'offline', T0 + 10, { connection_id: null });
    expect(moved).toMatchObject({ id: node.id, status: 'offline', status_changed_at: T0 + 10 });
    expect(await transitionNode(db, node.id, 'offline', T0 + 20)).toBeUndefined();
    expect((await getNodeRow(db, node.id))?.status_changed_at).toBe(T0 + 10);
    expect((await transitionNode(db, node.id, 'online', T0 + 30))?.status).toBe('online');
    expect(await transitionNode(db, 'node_missing', 'offline', T0)).toBeUndefined();
  });

  it('concurrent sweeps move a node once', async () => {
    const { db } = ctx.store;
    const node = nodeRow({ status: 'online' });
    await insertNode(db, node);
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => transitionNode(db, node.id, 'offline', T0 + i)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('clearConnection only clears the connection that closed', async () => {
    const { db } = ctx.store;
    const node = nodeRow({ connection_id: 'conn-new', last_seen_at: T0 });
    await insertNode(db, node);
    expect(await clearConnection(db, node.id, 'conn-old', T0 + 5)).toBe(false);
    expect(await getNodeRow(db, node.id)).toMatchObject({ connection_id: 'conn-new', last_seen_at: T0 });
    expect(await clearConnection(db, node.id, 'conn-new', T0 + 5)).toBe(true);
    expect(await getNodeRow(db, node.id)).toMatchObject({ connection_id: null, last_seen_at: T0 + 5 });
    expect(await clearConnection(db, node.id, 'conn-new', T0 + 6)).toBe(false);
    expect(await clearConnection(db, 'node_missing', 'conn-new', T0 + 6)).toBe(false);
  });

  it('findLostNodes picks silent nodes (past three of their own intervals too) and nodes disconnected past the grace only', async () => {
    const { db } = ctx.store;
    const now = T0 + 1_000_000;
    const silentBefore = now - 45_000;
    const disconnectedBefore = now - 10_000;
    const rows = {
      healthy: nodeRow({ connection_id: 'c1', last_seen_at: now - 1_000 }),
      silent: nodeRow({ connection_id: 'c2', last_seen_at: now - 50_000 }),
      silentEdge: nodeRow({ connection_id: 'c3', last_seen_at: silentBefore }),
      goneLongAgo: nodeRow({ connection_id: null, last_seen_at: now - 20_000 }),
      withinGrace: nodeRow({ connection_id: null, last_seen_at: now - 5_000 }),
      graceEdge: nodeRow({ connection_id: null, last_seen_at: disconnectedBefore }),
      alreadyOffline: nodeRow({ status: 'offline', connection_id: null, last_seen_at: now - 500_000 }),
      // Told to beat every minute: 50 s of silence is less than three of its intervals.
      slowBeat: nodeRow({ connection_id: 'c4', last_seen_at: now - 50_000, heartbeat_interval_ms: 60_000 }),
      slowBeatLost: nodeRow({ connection_id: 'c5', last_seen_at: now - 181_000, heartbeat_interval_ms: 60_000 }),
    };
    for (const r of Object.values(rows)) await insertNode(db, r);
    const lost = await findLostNodes(db, silentBefore, disconnectedBefore, now);
    expect(lost.map((n) => n.id).sort()).toEqual([rows.silent.id, rows.goneLongAgo.id, rows.slowBeatLost.id].sort());
    const silent = lost.find((n) => n.id === rows.silent.id);
    expect(silent).toEqual({ id: rows.silent.id, name: rows.silent.name, connection_id: 'c2', last_seen_at: now - 50_000 });
  });

  it('listNodesOfProtocol lists the nodes of one protocol by name, bounded', async () => {
    const { db } = ctx.store;
    await insertNode(db, nodeRow({ name: 'rc-b', protocol: 'retire-cluster', external_id: 'dev-b', status: 'offline' }));
    await insertNode(db, nodeRow({ name: 'rc-a', protocol: 'retire-cluster', external_id: 'dev-a' }));
    await insertNode(db, nodeRow({ name: 'rc-c', protocol: 'retire-cluster', external_id: 'dev-c' }));
    await insertNode(db, nodeRow({ name: 'agent-1' }));
    const two = await listNodesOfProtocol(db, 'retire-cluster', 2);
    expect(two.map((n) => [n.name, n.status, n.external_id])).toEqual([
      ['rc-a', 'online', 'dev-a'],
      ['rc-b', 'offline', 'dev-b'],
    ]);
    expect(typeof two[0]!.inventory).toBe('string');
    expect((await listNodesOfProtocol(db, 'retire-cluster', 10)).map((n) => n.name)).toEqual(['rc-a', 'rc-b', 'rc-c']);
    expect(await listNodesOfProtocol(db, 'bootagent', 10)).toEqual([]);
  });
});
