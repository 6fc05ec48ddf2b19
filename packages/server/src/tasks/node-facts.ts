import { capTaskReport, type Inventory, type TaskModuleReport } from '@steward/protocol';
import type { Context } from '../core/context.js';
import { deleteTaskNode, getNodeFactsSource, refreshTaskNodeLabels, upsertTaskNode } from '../store/queries/task-nodes.js';
import type { TaskNodesTable } from '../store/schema.js';

/** Load changes smaller than this are not written (heartbeats would rewrite every row). */
const LOAD_EPSILON = 0.1;

/**
 * Keeps `task_nodes`: each node's slots and load (from its task module report) with the facts
 * the scheduler matches requirements against (cores, memory, platform, arch, capabilities,
 * labels), so a scheduling pass never parses inventories.
 */
export class NodeFactsKeeper {
  private readonly written = new Map<string, { key: string; load: number }>();
  /** Nodes already warned about a clamped report (once per node per process, not per heartbeat). */
  private readonly warned = new Set<string>();

  constructor(private readonly ctx: Context) {}

  async report(nodeId: string, sent: TaskModuleReport, at: number): Promise<boolean> {
    // Slots attract tasks: a node claiming 10,000 would draw the queue to itself.
    const { value: rep, clamped } = capTaskReport(sent);
    if (clamped.length && !this.warned.has(nodeId)) {
      this.warned.add(nodeId);
      this.ctx.log.warn({ nodeId, clamped }, 'task report: figures past their caps were clamped');
    }
    const node = await getNodeFactsSource(this.ctx.store.db, nodeId);
    if (!node) return false;
    const inv = JSON.parse(node.inventory) as Inventory;
    const row: TaskNodesTable = {
      node_id: nodeId,
      slots: rep.slots,
      cpu_cores: inv.cpuCores,
      memory_bytes: inv.memoryBytes,
      disk_bytes: rep.diskBytes,
      platform: inv.os.platform,
      arch: inv.arch,
      capabilities: JSON.stringify([...inv.capabilities].sort()),
      labels: node.labels,
      load: Math.round(rep.load * 100) / 100,
      updated_at: at,
    };
    const key = JSON.stringify([row.slots, row.cpu_cores, row.memory_bytes, Math.round(row.disk_bytes / 2 ** 20), row.platform, row.arch, row.capabilities, row.labels]);
    const last = this.written.get(nodeId);
    if (last && last.key === key && Math.abs(last.load - row.load) < LOAD_EPSILON) return false;
    await this.ctx.store.batch((db) => upsertTaskNode(db, row));
    this.written.set(nodeId, { key, load: row.load });
    return true;
  }

  async deleted(nodeId: string): Promise<void> {
    this.written.delete(nodeId);
    this.warned.delete(nodeId);
    await deleteTaskNode(this.ctx.store.db, nodeId);
  }

  /** Labels changed: rewrite them now rather than at the next heartbeat. */
  async relabel(nodeId: string): Promise<void> {
    this.written.delete(nodeId);
    await refreshTaskNodeLabels(this.ctx.store.db, nodeId, this.ctx.now());
  }
}
