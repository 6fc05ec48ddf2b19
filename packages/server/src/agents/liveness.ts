import type { Context } from '../core/context.js';
import { publishNodeStatus } from '../events/node-status.js';
import { findLostNodes, findReconnectingNodes, transitionNode } from '../store/queries/nodes.js';
import type { AgentHub } from './hub.js';

/**
 * Marks nodes offline: silent for `offlineAfterMs` (and three of their heartbeat intervals), or disconnected for `disconnectGraceMs`.
 *
 * Within `startupGuardMs` (90 s, past the agents' 60 s backoff ceiling) of this process's start
 * no node is marked offline: agents are still on their way back after a restart, and in a
 * reconnect storm one may drop and take a while to get through again. A node lost meanwhile is
 * `reconnecting` instead (never `online` while not connected); nodes still `reconnecting` (also
 * those online before the restart, store.ts) turn offline once the guard is over.
 *
 * The guard also starts again at each refusal for the handshake rate or the handshakes in
 * progress (`askedToWaitAt`, 503 `agents_busy`; never sent in steady state): a storm that
 * outlasts the 90 s must not mark the agents still queued for their turn offline. Measured on a
 * loaded machine, 10,000 agents got through 33–72 handshakes a second and were all back after
 * 139–306 s; the ones slowed into their own backoff (up to 60 s) need the whole guard after the
 * last refusal, not just the longest Retry-After. A node truly gone turns offline a guard after
 * the storm.
 *
 * `storeBackAt`: when the store answered again after an outage. Heartbeats that arrived while it
 * was down were not stored, so a node's silence counts from then at the earliest: otherwise a
 * PostgreSQL restart longer than `offlineAfterMs` (minus a heartbeat) marks every node offline
 * and their running commands and task attempts lost, while they all kept running (found by the
 * chaos soak, docs/soak.md).
 */
export async function sweepLiveness(ctx: Context, hub: AgentHub, storeBackAt = 0, askedToWaitAt = 0): Promise<number> {
  const now = ctx.now();
  const { offlineAfterMs, disconnectGraceMs, startupGuardMs } = ctx.settings;
  // From the listen, and again from the last time agents were asked to wait (a storm).
  const guardFrom = Math.max(ctx.startedAt, askedToWaitAt);
  const guarded = now < guardFrom + startupGuardMs;
  let marked = 0;
  if (!guarded) {
    const why =
      askedToWaitAt > ctx.startedAt
        ? `not back ${Math.round(startupGuardMs / 1000)}s after the last agent was asked to wait (503 agents_busy)`
        : `not back ${Math.round(startupGuardMs / 1000)}s after the control plane started`;
    for (const n of await findReconnectingNodes(ctx.store.db)) {
      const row = await transitionNode(ctx.store.db, n.id, 'offline', now, { connection_id: null });
      if (!row) continue;
      marked++;
      publishNodeStatus(ctx, row, why);
    }
  }
  // Within offlineAfterMs of the store's return no node counts as silent (0: no last_seen_at is older).
  const silentBefore = storeBackAt > now - offlineAfterMs ? 0 : now - offlineAfterMs;
  const lost = await findLostNodes(ctx.store.db, silentBefore, now - disconnectGraceMs, now);
  for (const n of lost) {
    const silent = n.connection_id !== null;
    const row = await transitionNode(ctx.store.db, n.id, guarded ? 'reconnecting' : 'offline', now, { connection_id: null });
    if (!row) continue;
    marked++;
    publishNodeStatus(ctx, row, silent ? `no heartbeat for ${Math.round(offlineAfterMs / 1000)}s` : 'connection closed');
    // A connection that stopped heartbeating is dead in all but name: drop it so the agent redials.
    if (silent) hub.get(n.id)?.terminate();
  }
  return marked;
}
