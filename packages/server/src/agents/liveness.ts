import type { Context } from '../core/context.js';
import { publishNodeStatus } from '../events/node-status.js';
import { findLostNodes, transitionNode } from '../store/queries/nodes.js';
import type { AgentHub } from './hub.js';

/**
 * Marks nodes offline: silent for `offlineAfterMs` (and three of their heartbeat intervals), or disconnected for `disconnectGraceMs`.
 * Nothing is marked until one full threshold after this process started, so agents that are
 * still on their way back after a control-plane restart are not flagged.
 */
export async function sweepLiveness(ctx: Context, hub: AgentHub): Promise<number> {
  const now = ctx.now();
  const { offlineAfterMs, disconnectGraceMs } = ctx.settings;
  if (now < ctx.startedAt + offlineAfterMs) return 0;
  const lost = await findLostNodes(ctx.store.db, now - offlineAfterMs, now - disconnectGraceMs, now);
  let marked = 0;
  for (const n of lost) {
    const silent = n.connection_id !== null;
    const row = await transitionNode(ctx.store.db, n.id, 'offline', now, { connection_id: null });
    if (!row) continue;
    marked++;
    publishNodeStatus(ctx, row, silent ? `no heartbeat for ${Math.round(offlineAfterMs / 1000)}s` : 'connection closed');
    // A connection that stopped heartbeating is dead in all but name: drop it so the agent redials.
    if (silent) hub.get(n.id)?.terminate();
  }
  return marked;
}
