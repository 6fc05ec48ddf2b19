/**
 * One terminal session (`shell.session` command) and its recording. The row appears when the
 * session is opened (who opened it is known only then) or, failing that, when it ends; the
 * recording is written once by the replica that claims it.
 */
export interface SessionRecordingsTable {
  command_id: string;
  node_id: string;
  /** The API token that opened the session (null when it was opened without one being seen). */
  opened_by: string | null;
  opened_by_name: string | null;
  started_at: number;
  /** Null while the session runs. */
  ended_at: number | null;
  /** The command's end state (succeeded, failed, timed_out, cancelled…); null while it runs. */
  end_state: string | null;
  exit_code: number | null;
  /** Size of the .cast file; 0 until it is written. */
  bytes: number;
  /** The asciicast in the artifact store; null until written (the session is listed from then on). */
  artifact_sha256: string | null;
  /** When a replica took on writing the recording; a stale claim (a replica died) is taken again. */
  claimed_at: number | null;
  created_at: number;
}

/** The tables of terminal sessions. */
export interface SessionTables {
  session_recordings: SessionRecordingsTable;
}
