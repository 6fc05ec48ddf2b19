export interface TasksTable {
  id: string;
  request_id: string | null;
  request_hash: string | null;
  kind: string;
  payload: string;
  requirements: string;
  priority: string;
  /** Priority as a number (low 0 … critical 3), so the queue orders in SQL. */
  priority_rank: number;
  strategy: string | null;
  timeout_ms: number;
  max_retries: number;
  retry_delay_ms: number;
  retry_on_node_loss: number;
  state: string;
  reason: string | null;
  node_id: string | null;
  attempts: number;
  current_attempt_id: string | null;
  progress: number | null;
  exit_code: number | null;
  error: string | null;
  /** A queued task is not placed before this (retry backoff). */
  retry_at: number | null;
  /** When it (re)entered the queue; aging counts from here. */
  queued_at: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export interface TaskAttemptsTable {
  id: string;
  task_id: string;
  number: number;
  node_id: string;
  command_id: string;
  state: string;
  placed_at: number;
  started_at: number | null;
  finished_at: number | null;
  exit_code: number | null;
  signal: string | null;
  cpu_ms: number | null;
  peak_memory_bytes: number | null;
  progress: number | null;
  output_bytes: number;
  output_truncated: number;
  tail: string | null;
  error: string | null;
}

export interface TaskOutputTable {
  attempt_id: string;
  seq: number;
  task_id: string;
  number: number;
  stream: string;
  data: string;
  at: number;
}

/** What the scheduler needs of a node, kept apart from the (large) inventory JSON. */
export interface TaskNodesTable {
  node_id: string;
  slots: number;
  cpu_cores: number;
  memory_bytes: number;
  disk_bytes: number;
  platform: string;
  arch: string;
  capabilities: string;
  labels: string;
  load: number;
  updated_at: number;
}

/** One row: who holds the scheduler lease, until when, and whether scheduling is paused. */
export interface TaskSchedulerTable {
  name: string;
  owner: string | null;
  expires_at: number;
  paused: number;
}

/** The tables of compute tasks: the queue, attempts, output, placement facts and the scheduler lease. */
export interface TaskTables {
  tasks: TasksTable;
  task_attempts: TaskAttemptsTable;
  task_output: TaskOutputTable;
  task_nodes: TaskNodesTable;
  task_scheduler: TaskSchedulerTable;
}
