import type { DispatchedCommand } from '@steward/protocol';
import type { Context } from '../context.js';
import { deliverableForNode, markDelivered } from '../store/queries/commands.js';
import type { CommandsTable } from '../store/schema.js';
import { publishCommandState } from './events.js';

function toWire(row: CommandsTable): DispatchedCommand {
  return { id: row.id, type: row.type, payload: JSON.parse(row.payload), timeoutMs: row.timeout_ms, createdAt: row.created_at };
}

/**
 * Pushes commands down the agent's socket the moment they exist. Delivery is at-least-once:
 * anything unfinished is sent again when the agent says hello, and the agent's journal turns
 * a repeat into a replay of the stored result.
 */
export class Dispatcher {
  constructor(private readonly ctx: Context) {}

  /**
   * Sends now if the node is connected here; if not, asks the other replicas (one of them may
   * hold its socket). Otherwise the next hello delivers.
   */
  push(nodeId: string, rows: CommandsTable[]): void {
    if (rows.length === 0) return;
    const session = this.ctx.hub.get(nodeId);
    if (!session?.ready) {
      this.ctx.hub.relay?.publish({ kind: 'dispatch', nodeId, ids: rows.map((r) => r.id) });
      return;
    }
    // Send before recording the delivery: the agent's answer may then overtake the
    // bookkeeping, which the transition table allows (pending → running/succeeded).
    for (const row of rows) session.send({ type: 'command.dispatch', command: toWire(row) });
    void this.record(rows.map((r) => r.id));
  }

  /** Everything unfinished for the node, after it (re)connected or when its report disagrees. */
  async deliverAll(nodeId: string): Promise<number> {
    const rows = await deliverableForNode(this.ctx.store.db, nodeId);
    this.push(nodeId, rows);
    return rows.length;
  }

  async redeliver(nodeId: string, ids: string[]): Promise<void> {
    if (ids.length === 0 || !this.ctx.hub.get(nodeId)?.ready) return;
    const rows = (await deliverableForNode(this.ctx.store.db, nodeId)).filter((r) => ids.includes(r.id));
    this.push(nodeId, rows);
  }

  private async record(ids: string[]): Promise<void> {
    try {
      const now = this.ctx.now();
      const rows = await markDelivered(this.ctx.store.db, ids, now);
      for (const row of rows) if (row.deliveries === 1 && row.state === 'dispatched') publishCommandState(this.ctx, row);
    } catch (err) {
      this.ctx.log.error({ err }, 'recording a delivery failed; the next hello delivers again');
    }
  }
}
