import { Type } from '@sinclair/typebox';

/** Backup ids are safe as one directory name. */
export const BACKUP_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$';

const obj = <T extends Parameters<typeof Type.Object>[0]>(props: T) => Type.Object(props, { additionalProperties: false });
const Path = Type.String({ minLength: 1, maxLength: 4096, pattern: '^/', description: 'absolute path inside the backup roots' });
const BackupId = Type.String({ pattern: BACKUP_ID_PATTERN });
const Sha = Type.String({ pattern: '^[0-9a-f]{64}$' });
const Ref = {
  backupId: BackupId,
  archiveSha256: Type.Optional(Sha),
  manifestSha256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$', description: "the manifest's artifact, for backups in the control plane's store" })),
};

export const BackupRunPayload = obj({
  source: Path,
  exclude: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 500 }), { maxItems: 200, description: 'glob patterns: names (*.log) or paths from the source (cache/**)' })),
  destination: Type.Union([Type.Literal('node'), Type.Literal('control-plane')]),
  scheduleId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
});
export const BackupRefPayload = obj(Ref);
export const BackupRestorePayload = obj({
  ...Ref,
  target: Path,
  keepSpecialBits: Type.Optional(Type.Boolean({ description: 'restore setuid/setgid/sticky bits (default: masked off)' })),
});
export const BackupDeletePayload = obj({ backupId: BackupId });
