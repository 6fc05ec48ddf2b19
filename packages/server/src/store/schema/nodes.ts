export interface NodesTable {
  id: string;
  name: string;
  credential_hash: string;
  status: string;
  labels: string;
  inventory: string;
  stats: string | null;
  heartbeat_interval_ms: number;
  connection_id: string | null;
  last_seen_at: number | null;
  status_changed_at: number;
  created_at: number;
}

/** The tables of nodes. */
export interface NodeTables {
  nodes: NodesTable;
}
