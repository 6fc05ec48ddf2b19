export interface AgentUpgradesTable {
  id: string;
  version: string;
  /** JSON JobTarget: {all: true} | {selector} | {nodes}. */
  target: string;
  batch_size: number | null;
  max_unavailable: number | null;
  canary: number;
  failure_threshold: number;
  grace_ms: number;
  /** AgentUpgradeState. */
  state: string;
  reason: string | null;
  created_at: number;
  created_by: string | null;
  updated_at: number;
  finished_at: number | null;
}

export interface AgentUpgradeNodesTable {
  upgrade_id: string;
  node_id: string;
  position: number;
  batch: number;
  /** AgentUpgradeNodeState. */
  state: string;
  /** The package artifact for the node's architecture. */
  sha256: string;
  from_version: string | null;
  command_id: string | null;
  reason: string | null;
  started_at: number | null;
  finished_at: number | null;
}

/** Fleet-wide agent upgrades and their nodes. */
export interface AgentUpgradeTables {
  agent_upgrades: AgentUpgradesTable;
  agent_upgrade_nodes: AgentUpgradeNodesTable;
}
