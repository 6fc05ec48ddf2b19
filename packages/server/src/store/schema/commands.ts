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
  /**
   * Streamed output (0014): the next chunk seq expected from the agent, the bytes stored and
   * whether the cap cut it (0/1). Defaulted by the database, so rows built in code leave them out.
   */
  output_seq?: number;
  output_bytes?: number;
  output_truncated?: number;
}

/** One stored chunk of a command's streamed output. */
export interface CommandOutputTable {
  command_id: string;
  seq: number;
  stream: string;
  data: string;
  at: number;
}

/** The tables of commands. */
export interface CommandTables {
  commands: CommandsTable;
  command_output: CommandOutputTable;
}
