import { describe, expect, it } from 'vitest';
import { capStats, INVENTORY_CAPS, type Inventory } from '@steward/protocol';
import { EnrollmentService } from '../../src/enrollment/service.js';
import { NodeFactsKeeper } from '../../src/tasks/node-facts.js';
import { findNodeRow } from '../../src/store/queries/nodes.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { testContext } from '../helpers/context.js';

const inventory: Inventory = {
  hostname: 'box',
  addresses: ['10.0.0.9'],
  os: { platform: 'linux', release: '6.1' },
  arch: 'x64',
  agentVersion: 'test',
  cpuCores: 4,
  memoryBytes: 8 * 2 ** 30,
  disks: [],
  capabilities: [],
  modules: ['task'],
  commandTypes: [],
};

/** The NodeRestriction attacks of issue 12, against the real enrollment service on a real store. */
describe.each(storeTargets())('node restriction at enrollment on $name', (target) => {
  const fresh = useFreshStore(target);

  async function enroll(tokenLabels: Record<string, string>, asked: Record<string, string>, inv: Inventory = inventory) {
    const service = new EnrollmentService(testContext(fresh.store));
    const { token } = await service.create({ labels: tokenLabels });
    const { nodeId } = await service.enroll({ token, name: `n-${Math.random().toString(36).slice(2, 8)}`, labels: asked, inventory: inv });
    const row = (await findNodeRow(fresh.store.db, nodeId))!;
    return { nodeId, labels: JSON.parse(row.labels) as Record<string, string>, inventory: JSON.parse(row.inventory) as Inventory };
  }

  it('an env=staging token keeps env=staging when the agent claims env=prod; other asked labels are added', async () => {
    const { labels } = await enroll({ env: 'staging' }, { env: 'prod', role: 'db' });
    expect(labels).toEqual({ env: 'staging', role: 'db' });
  });

  it('drops reserved steward.io/ labels an agent asks for, and keeps those its token sets', async () => {
    const { labels } = await enroll({ 'steward.io/pool': 'edge' }, { 'steward.io/x': 'y', 'steward.io/pool': 'core', app: 'web' });
    expect(labels).toEqual({ 'steward.io/pool': 'edge', app: 'web' });
  });

  it('does not store cpuCores 4096 or memoryBytes 1e15 as sent: both are clamped to their caps', async () => {
    const huge = {
      ...inventory,
      cpuCores: 4096,
      memoryBytes: 1e15,
      hostname: 'h'.repeat(255),
      disks: [{ mount: '/', totalBytes: 1e30, usedBytes: 0, availableBytes: 1e30 }],
    };
    const { inventory: kept } = await enroll({}, {}, huge);
    expect(kept.cpuCores).toBe(INVENTORY_CAPS.cpuCores);
    expect(kept.memoryBytes).toBe(INVENTORY_CAPS.memoryBytes);
    expect(kept.disks[0]!.totalBytes).toBe(INVENTORY_CAPS.diskBytes);
    expect(kept.hostname).toHaveLength(255);
  });

  it('counts at most INVENTORY_CAPS.taskSlots task slots for a node that claims 100,000', async () => {
    const { nodeId } = await enroll({}, {});
    const facts = new NodeFactsKeeper(testContext(fresh.store));
    expect(await facts.report(nodeId, { slots: 100_000, running: [], load: 1e9, diskBytes: 1e30 }, 1)).toBe(true);
    const row = await fresh.store.db.selectFrom('task_nodes').selectAll().where('node_id', '=', nodeId).executeTakeFirstOrThrow();
    expect(row.slots).toBe(INVENTORY_CAPS.taskSlots);
    expect(row.load).toBe(INVENTORY_CAPS.load);
    expect(row.disk_bytes).toBe(INVENTORY_CAPS.diskBytes);
  });
});

describe('heartbeat stats caps', () => {
  it('clamps cores, memory and disk figures a heartbeat inflates, and names them', () => {
    const { value, clamped } = capStats({
      collectedAt: 1,
      cpu: { usagePercent: 5, cores: 4096 },
      load: [0, 0, 0],
      memory: { totalBytes: 1e15, availableBytes: 1, usedBytes: 1 },
      disks: [{ mount: '/', totalBytes: 1e30, usedBytes: 0, availableBytes: 1 }],
      network: [],
      uptimeSeconds: 1,
      agentUptimeSeconds: 1,
    });
    expect(value.cpu.cores).toBe(INVENTORY_CAPS.cpuCores);
    expect(value.memory.totalBytes).toBe(INVENTORY_CAPS.memoryBytes);
    expect(value.disks[0]!.totalBytes).toBe(INVENTORY_CAPS.diskBytes);
    expect(clamped).toEqual(['cpu.cores', 'memory.totalBytes', 'disks[0].totalBytes']);
  });
});
