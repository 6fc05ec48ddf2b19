import { describe, expect, it } from 'vitest';
import { AGENT_UPGRADE_NODE_TRANSITIONS, AGENT_UPGRADE_TRANSITIONS } from '@steward/protocol';
import {
  agentUpgradeCounts,
  agentUpgradeNodeRows,
  artifactByName,
  finishAgentUpgradeNode,
  getAgentUpgradeRow,
  insertAgentUpgrade,
  listAgentUpgradeRows,
  runningAgentUpgradeIds,
  skipPendingAgentUpgradeNodes,
  startAgentUpgradeNode,
  transitionAgentUpgrade,
} from '../../src/store/queries/agent-upgrades.js';
import { insertArtifactOnce } from '../../src/store/queries/artifacts.js';
import { insertNode } from '../../src/store/queries/nodes.js';
import type { AgentUpgradeNodesTable, AgentUpgradesTable } from '../../src/store/schema.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { nodeRow, T0 } from '../helpers/rows.js';

const upgrade = (id: string, over: Partial<AgentUpgradesTable> = {}): AgentUpgradesTable => ({
  id,
  version: '1.2.0',
  target: JSON.stringify({ all: true }),
  batch_size: null,
  max_unavailable: 1,
  canary: 0,
  failure_threshold: 0,
  grace_ms: 120_000,
  state: 'running',
  reason: null,
  created_at: T0,
  created_by: 'admin',
  updated_at: T0,
  finished_at: null,
  ...over,
});

const member = (upgradeId: string, nodeId: string, position: number): AgentUpgradeNodesTable => ({
  upgrade_id: upgradeId,
  node_id: nodeId,
  position,
  batch: position,
  state: 'pending',
  sha256: 'a'.repeat(64),
  from_version: '1.1.0',
  command_id: null,
  reason: null,
  started_at: null,
  finished_at: null,
});

describe('agent upgrade transition tables', () => {
  it('final states go nowhere; nothing goes back to pending', () => {
    expect(AGENT_UPGRADE_TRANSITIONS.completed).toEqual([]);
    expect(AGENT_UPGRADE_TRANSITIONS.aborted).toEqual([]);
    for (const to of Object.values(AGENT_UPGRADE_NODE_TRANSITIONS)) expect(to).not.toContain('pending');
  });
});

describe.each(storeTargets())('agent upgrades on $name', (target) => {
  const ctx = useFreshStore(target);

  async function seed(id: string, nodes = 3): Promise<string[]> {
    const db = ctx.store.db;
    const ids: string[] = [];
    for (let i = 0; i < nodes; i++) {
      const n = nodeRow({ name: `${id}-n${i}` });
      await insertNode(db, n);
      ids.push(n.id);
    }
    await ctx.store.tx((tx) => insertAgentUpgrade(tx, upgrade(id), ids.map((n, i) => member(id, n, i))));
    return ids;
  }

  it('stores a rollout with its nodes in order, with names; lists newest first with counts', async () => {
    const db = ctx.store.db;
    const nodes = await seed('upg_1');
    await ctx.store.tx((tx) => insertAgentUpgrade(tx, upgrade('upg_2', { created_at: T0 + 1 }), []));
    const rows = await agentUpgradeNodeRows(db, 'upg_1');
    expect(rows.map((r) => r.node_id)).toEqual(nodes);
    expect(rows[0]!.name).toBe('upg_1-n0');
    expect((await listAgentUpgradeRows(db, {})).map((r) => r.id)).toEqual(['upg_2', 'upg_1']);
    expect((await agentUpgradeCounts(db, ['upg_1', 'upg_2'])).get('upg_1')).toEqual({ pending: 3 });
    expect(await runningAgentUpgradeIds(db)).toEqual(['upg_1', 'upg_2']);
  });

  it('a node starts once: the second start (another replica) changes nothing', async () => {
    const db = ctx.store.db;
    const [n0] = await seed('upg_1');
    expect(await startAgentUpgradeNode(db, 'upg_1', n0!, 'cmd_a', T0 + 5)).toMatchObject({ state: 'upgrading', command_id: 'cmd_a', started_at: T0 + 5 });
    expect(await startAgentUpgradeNode(db, 'upg_1', n0!, 'cmd_b', T0 + 6)).toBeUndefined();
    expect((await agentUpgradeNodeRows(db, 'upg_1'))[0]!.command_id).toBe('cmd_a');
  });

  it('a node outcome is kept once; a late report cannot change it', async () => {
    const db = ctx.store.db;
    const [n0, n1] = await seed('upg_1');
    await startAgentUpgradeNode(db, 'upg_1', n0!, 'cmd_a', T0);
    expect(await finishAgentUpgradeNode(db, 'upg_1', n0!, 'rolled_back', 'not welcomed', T0 + 1)).toMatchObject({ state: 'rolled_back', reason: 'not welcomed' });
    expect(await finishAgentUpgradeNode(db, 'upg_1', n0!, 'upgraded', null, T0 + 2)).toBeUndefined();
    // A pending node cannot be reported upgraded (it never started)…
    expect(await finishAgentUpgradeNode(db, 'upg_1', n1!, 'upgraded', null, T0 + 2)).toBeUndefined();
    // …but can fail before it starts (its agent lacks the upgrade module).
    expect(await finishAgentUpgradeNode(db, 'upg_1', n1!, 'failed', 'unknown command type', T0 + 2)).toMatchObject({ state: 'failed' });
  });

  it('rollout states follow the table: pause/resume, abort skips the pending nodes, final states stay', async () => {
    const db = ctx.store.db;
    const [n0] = await seed('upg_1');
    await startAgentUpgradeNode(db, 'upg_1', n0!, 'cmd_a', T0);
    expect(await transitionAgentUpgrade(db, 'upg_1', 'paused', T0 + 1, 'too many failures')).toMatchObject({ state: 'paused', reason: 'too many failures' });
    expect(await transitionAgentUpgrade(db, 'upg_1', 'paused', T0 + 2, 'again')).toBeUndefined();
    expect(await transitionAgentUpgrade(db, 'upg_1', 'completed', T0 + 2)).toBeUndefined();
    expect(await transitionAgentUpgrade(db, 'upg_1', 'running', T0 + 3)).toMatchObject({ state: 'running', reason: null });
    expect(await transitionAgentUpgrade(db, 'upg_1', 'aborted', T0 + 4, 'by hand')).toMatchObject({ state: 'aborted', finished_at: T0 + 4 });
    expect(await skipPendingAgentUpgradeNodes(db, 'upg_1', T0 + 4)).toBe(2);
    expect((await agentUpgradeNodeRows(db, 'upg_1')).map((r) => r.state)).toEqual(['upgrading', 'skipped', 'skipped']);
    for (const to of ['running', 'paused', 'completed'] as const) expect(await transitionAgentUpgrade(db, 'upg_1', to, T0 + 5)).toBeUndefined();
    expect((await getAgentUpgradeRow(db, 'upg_1'))!.state).toBe('aborted');
    expect(await runningAgentUpgradeIds(db)).toEqual([]);
  });

  it('finds a package by its file name, the newest of that name', async () => {
    const db = ctx.store.db;
    const name = 'steward-agent-1.2.0-linux-x64.tar.gz';
    expect(await artifactByName(db, name)).toBeUndefined();
    await insertArtifactOnce(db, { sha256: 'b'.repeat(64), size: 10, name, created_at: T0, created_by: null });
    await insertArtifactOnce(db, { sha256: 'c'.repeat(64), size: 20, name, created_at: T0 + 1, created_by: null });
    expect(await artifactByName(db, name)).toMatchObject({ sha256: 'c'.repeat(64), size: 20 });
  });
});
