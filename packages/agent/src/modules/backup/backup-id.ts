/** Backup ids are safe as one directory name. */
export const BACKUP_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$';

/**
 * One command makes one backup: the id comes from the command id, so a run repeated after an
 * agent crash replaces its own half-made backup instead of adding another.
 */
export function backupIdFor(commandId: string): string {
  return `backup_${commandId.replace(/^cmd_/, '').replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 128);
}
