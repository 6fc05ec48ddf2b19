import type { Context } from '../core/context.js';
import { publishNodeStatus } from '../events/node-status.js';
import { findLostNodes, findReconnectingNodes, transitionNode } from '../store/queries/nodes.js';
import { RETRY_AFTER_MAX_S } from './admission.js';
import type { AgentHub } from './hub.js';

/** How long the guard holds after the last rate refusal: the longest Retry-After, twice over (a refused agent may be refused again). */
export const STORM_TAIL_MS = 2 * RETRY_AFTER_MAX_S * 1000;

/**
 * Marks nodes offline: silent for `offlineAfterMs` (and three of their heartbeat intervals), or disconnected for `disconnectGraceMs`.
 *
 * Within `startupGuardMs` (90 s, past the agents' 60 s backoff ceiling) of this process's start
 * no node is marked offline: agents are still on their way back after a restart, and in a
 * reconnect storm one may drop and take a while to get through again. A node lost meanwhile is
 * `reconnecting` instead (never `online` while not connected); nodes still `reconnecting` (also
 * those online before the restart, store.ts) turn offline once the guard is over.
 *
 * The guard also holds while agents are being refused for the handshake rate (`askedToWaitAt`,
 * 503 `agents_busy` with a Retry-After of at most RETRY_AFTER_MAX_S) and for STORM_TAIL_MS after
 * the last such refusal: a storm that outlasts the 90 s (a loaded machine getting through 72
 * handshakes a second took 139 s for 10,000 agents) must not mark the agents still queued for
 * their turn offline. A node truly gone meanwhile turns offline when the storm is over.
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
  const storm = askedToWaitAt > 0 && now < askedToWaitAt + STORM_TAIL_MS;
  const guarded = now < ctx.startedAt + startupGuardMs || storm;
  let marked = 0;
  if (!guarded) {
    const why =
      askedToWaitAt > ctx.startedAt + startupGuardMs - STORM_TAIL_MS
        ? `not back ${Math.round(STORM_TAIL_MS / 1000)}s after the last agent was asked to wait (503 agents_busy)`
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
