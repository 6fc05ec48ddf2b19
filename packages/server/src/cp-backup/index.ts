export { backupControlPlane, type BackupOptions } from './backup.js';
export { restoreControlPlane, type RestoreOptions } from './restore.js';
export type { BackupManifest } from './manifest.js';
export { restoredMarker } from './restored.js';
