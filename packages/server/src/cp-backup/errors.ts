import { StewardError } from '@steward/protocol';

/** The backup file is damaged, tampered with, truncated or not a Steward control-plane backup. */
export class BackupInvalidError extends StewardError {
  constructor(message: string, details?: unknown) {
    super('backup_invalid', 400, `backup refused, nothing was changed: ${message}`, details);
  }
}

/** A restore would overwrite a data dir that holds something; `--force` allows it. */
export class DataDirNotEmptyError extends StewardError {
  constructor(dir: string) {
    super('data_dir_not_empty', 409, `data dir ${dir} is not empty; restore into an empty one, or pass --force to replace it`, { dataDir: dir });
  }
}

/** A control plane is serving from the data dir a restore would replace. */
export class ControlPlaneRunningError extends StewardError {
  constructor(dir: string, pid: number) {
    super('control_plane_running', 409, `a control plane (pid ${pid}) is running on ${dir}; stop it before restoring`, { dataDir: dir, pid });
  }
}

/** The PostgreSQL database a restore would write to already has tables; `--force` replaces them. */
export class DatabaseNotEmptyError extends StewardError {
  constructor(tables: number) {
    super('database_not_empty', 409, `the database already has ${tables} table(s); restore into an empty database, or pass --force to replace what the backup holds`, { tables });
  }
}

/** The backup's store kind does not match where it is being restored (a SQLite backup with --db, or the reverse). */
export class StoreKindMismatchError extends StewardError {
  constructor(backup: string, wanted: string) {
    super('store_kind_mismatch', 400, `the backup holds a ${backup} store, but the restore was asked for ${wanted}`, { backup, wanted });
  }
}

/** pg_dump / pg_restore failed or is missing. */
export class PgToolError extends StewardError {
  constructor(tool: string, message: string) {
    super('pg_tool_failed', 500, `${tool}: ${message}`, { tool });
  }
}
