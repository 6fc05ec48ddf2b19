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
  /** 'steward' for Steward's agent; else the seed protocol the node speaks. */
  protocol: string;
  /** The node's id in its own protocol (null for Steward's agents). */
  external_id: string | null;
  /** When an operator revoked the node's credential; null (or absent on insert) while it may connect. */
  revoked_at?: number | null;
  /** Hash of a credential sent to the agent and not yet confirmed stored (rotation). */
  next_credential_hash?: string | null;
  /** JSON VersionSkew: the protocol version this node's agent was last refused for; null once served. */
  version_skew?: string | null;
}

/** A device of a credential-less protocol waiting for an operator's decision. */
export interface AdmissionsTable {
  id: string;
  protocol: string;
  external_id: string;
  hostname: string;
  /** The address it connected from. */
  source: string;
  /** What it said about itself (JSON), shown to the operator deciding. */
  profile: string;
  /** Its protocol's heartbeat interval: the node's liveness follows it. */
  heartbeat_interval_ms: number;
  state: string;
  node_id: string | null;
  created_at: number;
  seen_at: number;
  decided_at: number | null;
  decided_by: string | null;
}

/** The tables of nodes. */
export interface NodeTables {
  nodes: NodesTable;
  admissions: AdmissionsTable;
}
