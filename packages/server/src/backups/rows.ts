import type { Backup, BackupDestination, BackupSchedule, BackupScheduleTarget } from '@steward/protocol';
import type { BackupSchedulesTable, BackupsTable } from '../store/schema.js';

export function backupFromRow(r: BackupsTable): Backup {
  return {
    id: r.id,
    nodeId: r.node_id,
    commandId: r.command_id,
    scheduleId: r.schedule_id,
    source: r.source,
    exclude: JSON.parse(r.exclude) as string[],
    destination: r.destination as BackupDestination,
    archiveSha256: r.archive_sha256,
    archiveSize: r.archive_size,
    manifestSha256: r.manifest_sha256,
    fileCount: r.file_count,
    totalBytes: r.total_bytes,
    createdAt: r.created_at,
  };
}

export function scheduleFromRow(r: BackupSchedulesTable): BackupSchedule {
  return {
    id: r.id,
    name: r.name,
    cron: r.cron,
    timezone: r.timezone,
    target: JSON.parse(r.target) as BackupScheduleTarget,
    source: r.source,
    exclude: JSON.parse(r.exclude) as string[],
    destination: r.destination as BackupDestination,
    keepLast: r.keep_last,
    keepDays: r.keep_days,
    nextRunAt: r.next_run_at,
    lastRunAt: r.last_run_at,
    createdAt: r.created_at,
  };
}
