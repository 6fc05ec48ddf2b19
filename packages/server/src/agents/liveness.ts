import type { Context } from '../core/context.js';
import { publishNodeStatus } from '../events/node-status.js';
import { findLostNodes, findReconnectingNodes, transitionNode } from '../store/queries/nodes.js';
import type { AgentHub } from './hub.js';

/**
 * Marks nodes offline: silent for `offlineAfterMs` (and three of their heartbeat intervals), or disconnected for `disconnectGraceMs`.
 *
 * Nothing that may still be on its way back after a control-plane restart is flagged: nodes
 * `reconnecting` (online before the restart, store.ts) turn offline only once `startupGuardMs`
 * (90 s, past the agents' 60 s backoff ceiling) has passed since this process started. Online
 * nodes wait one threshold past the start, and with PostgreSQL — where other replicas' nodes stay
 * `online` across this one's restart — the start-up guard as well.
 */
export async function sweepLiveness(ctx: Context, hub: AgentHub): Promise<number> {
  const now = ctx.now();
  const { offlineAfterMs, disconnectGraceMs, startupGuardMs } = ctx.settings;
  let marked = 0;
  const guardOver = now >= ctx.startedAt + startupGuardMs;
  if (guardOver) {
    for (const n of await findReconnectingNodes(ctx.store.db)) {
      const row = await transitionNode(ctx.store.db, n.id, 'offline', now, { connection_id: null });
      if (!row) continue;
      marked++;
      publishNodeStatus(ctx, row, `not back ${Math.round(startupGuardMs / 1000)}s after the control plane started`);
    }
  }
  const onlineGuard = ctx.store.dialect === 'sqlite' ? offlineAfterMs : Math.max(offlineAfterMs, startupGuardMs);
  if (now < ctx.startedAt + onlineGuard) return marked;
  const lost = await findLostNodes(ctx.store.db, now - offlineAfterMs, now - disconnectGraceMs, now);
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
