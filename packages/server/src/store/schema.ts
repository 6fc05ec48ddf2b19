/**
 * Column types shared by SQLite and PostgreSQL: times are integer milliseconds,
 * JSON is text (parsed in rows.ts), booleans are 0/1 integers.
 */
export interface ApiTokensTable {
  id: string;
  name: string;
  role: string;
  token_hash: string;
  created_at: number;
  last_used_at: number | null;
}

export interface EnrollmentTokensTable {
  id: string;
  token_hash: string;
  expires_at: number;
  uses_allowed: number;
  uses: number;
  labels: string;
  note: string | null;
  created_at: number;
}

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

export interface CommandsTable {
  id: string;
  request_id: string | null;
  request_hash: string | null;
  node_id: string;
  job_id: string | null;
  type: string;
  payload: string;
  state: string;
  timeout_ms: number;
  ttl_ms: number;
  expires_at: number | null;
  held: number;
  created_at: number;
  dispatched_at: number | null;
  started_at: number | null;
  finished_at: number | null;
  deliveries: number;
  result: string | null;
  error: string | null;
}

export interface JobsTable {
  id: string;
  request_id: string | null;
  request_hash: string | null;
  type: string;
  payload: string;
  target: string;
  batch_size: number | null;
  state: string;
  total: number;
  created_at: number;
  finished_at: number | null;
}

export interface MetaTable {
  key: string;
  value: string;
}

export interface NodeSamplesTable {
  node_id: string;
  at: number;
  cpu_percent: number;
  memory_used: number;
  memory_total: number;
  disk_used: number;
  disk_total: number;
  load1: number;
  load5: number;
  load15: number;
}

export interface Database {
  api_tokens: ApiTokensTable;
  enrollment_tokens: EnrollmentTokensTable;
  nodes: NodesTable;
  commands: CommandsTable;
  jobs: JobsTable;
  meta: MetaTable;
  node_samples: NodeSamplesTable;
}
