import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESTORED_FROM_FILE } from './members.js';

/**
 * When the data dir was restored (`restored-from.json`, written by `steward server restore`):
 * the backup's time and the restore's. Null when it never was (or the file is unreadable).
 */
export function restoredMarker(dataDir: string): { backupAt: number; restoredAt: number } | null {
  try {
    const m = JSON.parse(readFileSync(join(dataDir, RESTORED_FROM_FILE), 'utf8')) as { createdAt?: unknown; restoredAt?: unknown };
    return typeof m.createdAt === 'number' && typeof m.restoredAt === 'number' ? { backupAt: m.createdAt, restoredAt: m.restoredAt } : null;
  } catch {
    return null;
  }
}
