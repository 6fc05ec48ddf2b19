export { ControlPlane, startServer } from './control-plane.js';
export { defaultServerDataDir, ENDPOINT_FILE, ADMIN_TOKEN_FILE, type ServerOptions, type RunningServer } from './options.js';
export { Store } from './store/store.js';
export { STEWARD_VERSION } from './version.js';
export { backupControlPlane, restoreControlPlane, type BackupOptions, type RestoreOptions, type BackupManifest } from './cp-backup/index.js';
