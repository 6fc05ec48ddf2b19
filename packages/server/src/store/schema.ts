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

export interface ServicesTable {
  name: string;
  revision: number;
  /** ServicePut as JSON. */
  spec: string;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

export interface ServiceNodesTable {
  service: string;
  node_id: string;
  revision: number | null;
  version: string | null;
  state: string;
  /** ServiceNodeReport as JSON. */
  report: string;
  updated_at: number;
}

export interface ArtifactsTable {
  sha256: string;
  size: number;
  name: string | null;
  created_at: number;
  created_by: string | null;
}

export interface BackupsTable {
  id: string;
  node_id: string;
  command_id: string | null;
  schedule_id: string | null;
  source: string;
  /** JSON array of exclude patterns. */
  exclude: string;
  destination: string;
  archive_sha256: string;
  archive_size: number;
  manifest_sha256: string | null;
  file_count: number;
  total_bytes: number;
  created_at: number;
  /**
   * Set when the backup is deleted (by hand or by retention). The row stays so a result
   * seen again (reconcile, another replica) never records the backup a second time.
   */
  deleted_at: number | null;
}

export interface BackupSchedulesTable {
  id: string;
  name: string | null;
  cron: string;
  timezone: string;
  /** JSON `{ node }` or `{ selector }`. */
  target: string;
  source: string;
  exclude: string;
  destination: string;
  keep_last: number | null;
  keep_days: number | null;
  /** The run this schedule owes next; claimed by moving it forward in one conditional update. */
  next_run_at: number;
  last_run_at: number | null;
  created_at: number;
}

export interface AlertsTable {
  id: string;
  key: string;
  state: string;
  source: string;
  node_id: string | null;
  severity: string;
  summary: string;
  details: string;
  count: number;
  first_fired_at: number;
  last_fired_at: number;
  resolved_at: number | null;
  resolve_summary: string | null;
  acked_at: number | null;
  acked_by: string | null;
}

export interface WebhooksTable {
  id: string;
  name: string;
  url: string;
  /** The HMAC key itself: signing needs it, so it cannot be stored as a hash. */
  secret: string;
  events: string;
  created_at: number;
}

export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  event: string;
  alert_id: string;
  /** The exact JSON sent on every attempt (the signature covers it). */
  body: string;
  state: string;
  attempts: number;
  next_attempt_at: number | null;
  lease_owner: string | null;
  lease_until: number | null;
  created_at: number;
  finished_at: number | null;
}

export interface WebhookAttemptsTable {
  id: string;
  delivery_id: string;
  n: number;
  at: number;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
}

export interface Database {
  alerts: AlertsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  api_tokens: ApiTokensTable;
  enrollment_tokens: EnrollmentTokensTable;
  nodes: NodesTable;
  commands: CommandsTable;
  jobs: JobsTable;
  meta: MetaTable;
  node_samples: NodeSamplesTable;
  services: ServicesTable;
  service_nodes: ServiceNodesTable;
  artifacts: ArtifactsTable;
  backups: BackupsTable;
  backup_schedules: BackupSchedulesTable;
  tasks: TasksTable;
  task_attempts: TaskAttemptsTable;
  task_output: TaskOutputTable;
  task_nodes: TaskNodesTable;
  task_scheduler: TaskSchedulerTable;
}
