import type { ConfigStatusMessage, PushedConfig } from '@steward/protocol';
import type { NodesTable } from '../store/schema.js';

/** A node's effective pushed config and its revision. */
export interface DesiredConfig {
  revision: string;
  config: PushedConfig;
}

/**
 * Where the link gets a node's desired configuration (sent right after every welcome) and hands
 * the agent's answers; implemented by the agent-config feature, so the link stays free of it.
 */
export interface ConfigSource {
  /** The config to send the node now (also `{}` when no document targets it); `sent` records it once it went out. */
  desired(node: NodesTable): Promise<DesiredConfig>;
  /** Records the revision sent to the node (the repair pass compares against it). */
  sent(nodeId: string, revision: string): Promise<void>;
  /** The agent applied or rejected a revision. */
  status(nodeId: string, msg: ConfigStatusMessage): Promise<void>;
}
