export interface CommandsTable {
  id: string;
  request_id: string | null;
  request_hash: string | null;
  node_id: string;
  job_id: string | null;
  type: string;
  payload: string;
  /** The full payload while the command is unfinished, when it has writeOnly parts; null otherwise. */
  secret_payload: string | null;
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
  /** The latest CommandProgress its agent reported (JSON); null before any. */
  progress: string | null;
}

/** The tables of commands. */
export interface CommandTables {
  commands: CommandsTable;
}
