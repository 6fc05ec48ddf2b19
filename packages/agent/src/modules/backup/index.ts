import { BackupDeletePayload, BackupRefPayload, BackupRestorePayload, BackupRunPayload, EmptyPayload } from '@steward/protocol/modules';
import { defineCommand, defineModule } from '../types.js';
import { backupIdFor } from './backup-id.js';
import { KeptBackups } from './kept.js';
import { restoreBackup } from './restore.js';
import { runBackup } from './run.js';
import { BackupRuntime, runtimeOf } from './runtime.js';
import { BackupSettings } from './settings.js';
import { verifyBackup } from './verify.js';

const run = defineCommand({
  type: 'backup.run',
  description: 'Archive a directory as tar.gz with a SHA-256 manifest; keep it on this node or upload it to the artifact store.',
  payload: BackupRunPayload,
  // A run repeated after a crash makes the same backup id again from scratch; nothing is lost or doubled.
  safeToRerun: true,
  handler: (p, ctx) =>
    runBackup(runtimeOf(ctx.module), { backupId: backupIdFor(ctx.commandId), source: p.source, exclude: p.exclude ?? [], destination: p.destination, scheduleId: p.scheduleId }, ctx.signal, ctx.progress),
});

const verify = defineCommand({
  type: 'backup.verify',
  description: "Re-hash a backup's archive and every file in it against its manifest.",
  payload: BackupRefPayload,
  safeToRerun: true,
  handler: (p, ctx) => verifyBackup(runtimeOf(ctx.module), p, ctx.signal, ctx.progress),
});

const restore = defineCommand({
  type: 'backup.restore',
  description: 'Restore a backup into a new or empty directory, after checking every checksum.',
  payload: BackupRestorePayload,
  // It renames a tree into place; after a crash the operator should look before running it again.
  safeToRerun: false,
  handler: (p, ctx) => restoreBackup(runtimeOf(ctx.module), p, ctx.signal, ctx.progress),
});

const list = defineCommand({
  type: 'backup.list',
  description: 'Backups kept on this node.',
  payload: EmptyPayload,
  safeToRerun: true,
  handler: async (_p, ctx) => ({
    backups: (await runtimeOf(ctx.module).kept.list()).map((m) => ({
      backupId: m.backupId,
      source: m.source,
      createdAt: m.createdAt,
      scheduleId: m.scheduleId ?? null,
      archiveSha256: m.archive.sha256,
      archiveSize: m.archive.size,
      fileCount: m.fileCount,
      totalBytes: m.totalBytes,
    })),
  }),
});

const remove = defineCommand({
  type: 'backup.delete',
  description: 'Delete a backup kept on this node (retention).',
  payload: BackupDeletePayload,
  safeToRerun: true,
  handler: async (p, ctx) => {
    const deleted = await runtimeOf(ctx.module).kept.remove(p.backupId);
    return { backupId: p.backupId, deleted, changed: deleted };
  },
});

export default defineModule({
  name: 'backup',
  description: 'Directory backups as tar.gz with a SHA-256 manifest: run, verify, restore, list, delete.',
  settings: BackupSettings,
  commands: [run, verify, restore, list, remove],
  async start(rt) {
    const settings = rt.settings as BackupSettings;
    const kept = new KeptBackups(settings.dir ?? rt.dataDir);
    await kept.cleanWork();
    return new BackupRuntime(settings.roots ?? rt.config.fs.roots, kept, rt.link);
  },
});
