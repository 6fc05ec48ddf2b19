export interface AgentConfigDocumentsTable {
  name: string;
  /** JSON ConfigTarget: {all: true} | {selector} | {nodes}. */
  target: string;
  priority: number;
  /** JSON PushedConfig. Not secret by design; still never logged. */
  config: string;
  /** Counts the PUTs of this document. */
  version: number;
  updated_at: number;
  updated_by: string;
}

export interface NodeConfigStatusTable {
  node_id: string;
  /** The revision last sent to the node (by whichever replica holds its connection). */
  desired_revision: string | null;
  sent_at: number | null;
  /** What the agent last answered: a revision and applied | rejected. */
  reported_revision: string | null;
  state: string | null;
  reason: string | null;
  /** JSON FieldIssue[] of a rejection. */
  issues: string | null;
  /** The agent's `at` for that answer; an older answer never overwrites a newer one. */
  reported_at: number | null;
}

/** Desired agent configuration documents and each node's config status. */
export interface AgentConfigTables {
  agent_config_documents: AgentConfigDocumentsTable;
  node_config_status: NodeConfigStatusTable;
}
