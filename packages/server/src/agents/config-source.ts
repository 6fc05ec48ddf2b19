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
  /** The config to send the node now (also `{}` when no document targets it); recorded as sent. */
  desired(node: NodesTable): Promise<DesiredConfig>;
  /** The agent applied or rejected a revision. */
  status(nodeId: string, msg: ConfigStatusMessage): Promise<void>;
}
