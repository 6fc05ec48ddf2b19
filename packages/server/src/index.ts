import { backupControlPlane as backupWithVersion, type BackupManifest, type BackupOptions } from './cp-backup/index.js';
import { STEWARD_VERSION } from './version.js';

export { ControlPlane, startServer } from './control-plane.js';
export { defaultServerDataDir, ENDPOINT_FILE, ADMIN_TOKEN_FILE, type ServerOptions, type RunningServer } from './options.js';
export { Store } from './store/store.js';
export { STEWARD_VERSION } from './version.js';
export { restoreControlPlane, type RestoreOptions, type BackupManifest } from './cp-backup/index.js';

/** `steward server backup` (docs/backup-restore.md); the manifest carries this Steward's version. */
export function backupControlPlane(o: Omit<BackupOptions, 'stewardVersion'>): Promise<BackupManifest> {
  return backupWithVersion({ ...o, stewardVersion: STEWARD_VERSION });
}
