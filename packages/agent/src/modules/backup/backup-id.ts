export { BACKUP_ID_PATTERN } from '@steward/protocol/modules';

/**
 * One command makes one backup: the id comes from the command id, so a run repeated after an
 * agent crash replaces its own half-made backup instead of adding another.
 */
export function backupIdFor(commandId: string): string {
  return `backup_${commandId.replace(/^cmd_/, '').replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 128);
}
