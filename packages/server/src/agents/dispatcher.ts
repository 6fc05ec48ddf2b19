import type { Context } from '../core/context.js';
import { publishCommandState } from '../events/command-state.js';
import { deliverableForNode, markDelivered } from '../store/queries/commands.js';
import type { CommandsTable } from '../store/schema.js';
import type { AgentHub } from './hub.js';
import { wire } from './wire.js';

/** How long a sent command counts as "on its way" before a heartbeat that lacks it resends it. */
export const IN_FLIGHT_MS = 5000;

/**
 * Pushes commands down the agent's socket the moment they exist. Delivery is at-least-once:
 * anything unfinished is sent again when the agent says hello, and the agent's journal turns
 * a repeat into a replay of the stored result.
 */
export class Dispatcher {
  private toRecord: string[] = [];
  /** Two generations of "sent at", rotated, so the map never grows past two windows. */
  private sent = new Map<string, number>();
  private sentBefore = new Map<string, number>();
  private rotatedAt = Date.now();

  constructor(
    private readonly ctx: Context,
    private readonly hub: AgentHub,
  ) {}

  /**
   * Sends now if the node is connected here; if not, asks the other replicas (one of them may
   * hold its socket). Otherwise the next hello delivers.
   */
  push(nodeId: string, rows: CommandsTable[]): void {
    if (rows.length === 0) return;
    const session = this.hub.get(nodeId);
    if (!session?.ready) {
      this.hub.relay?.publish({ kind: 'dispatch', nodeId, ids: rows.map((r) => r.id) });
      return;
    }
    const now = this.ctx.now();
    this.rotate(now);
    // Send before recording the delivery: the agent's answer may then overtake the
    // bookkeeping, which the transition table allows (pending → running/succeeded).
    const idle = this.toRecord.length === 0;
    for (const row of rows) {
      // Not sent (the agent stopped reading, or the socket just closed): it stays pending,
      // and the next heartbeat that lacks it (or the next hello) sends it again.
      if (!session.send(wire.dispatch(row))) continue;
      this.sent.set(row.id, now);
      this.toRecord.push(row.id);
    }
    if (idle && this.toRecord.length > 0) setImmediate(() => void this.record());
  }

  /** True while a command sent from here is presumably still on its way to the agent. */
  inFlight(id: string, now: number): boolean {
    const at = this.sent.get(id) ?? this.sentBefore.get(id);
    return at !== undefined && at > now - IN_FLIGHT_MS;
  }

  /** Everything unfinished for the node, after it (re)connected. */
  async deliverAll(nodeId: string): Promise<number> {
    const rows = await deliverableForNode(this.ctx.store.db, nodeId);
    this.push(nodeId, rows);
    return rows.length;
  }

  async redeliver(nodeId: string, ids: string[]): Promise<void> {
    if (ids.length === 0 || !this.hub.get(nodeId)?.ready) return;
    const wanted = new Set(ids);
    const rows = (await deliverableForNode(this.ctx.store.db, nodeId)).filter((r) => wanted.has(r.id));
    this.push(nodeId, rows);
  }

  private rotate(now: number): void {
    if (now - this.rotatedAt < IN_FLIGHT_MS) return;
    this.sentBefore = this.sent;
    this.sent = new Map();
    this.rotatedAt = now;
  }

  /** Deliveries of one moment are recorded in one statement. */
  private async record(): Promise<void> {
    const ids = this.toRecord;
    this.toRecord = [];
    try {
      const rows = await this.ctx.store.batch((db) => markDelivered(db, ids, this.ctx.now()));
      for (const row of rows) if (row.deliveries === 1 && row.state === 'dispatched') publishCommandState(this.ctx, row);
    } catch (err) {
      this.ctx.log.error({ err }, 'recording a delivery failed; the next hello delivers again');
    }
  }
}
