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

/** The tables of backups and their schedules. */
export interface BackupTables {
  backups: BackupsTable;
  backup_schedules: BackupSchedulesTable;
}
