import type { FileFacts } from './members.js';

export const BACKUP_FORMAT = 'steward-control-plane-backup';
export const BACKUP_FORMAT_VERSION = 1;

export type StoreKind = 'sqlite' | 'postgres';

export interface BackupMember extends FileFacts {
  /** Relative to the data dir (`/`-separated); the store is `steward.db` (SQLite) or `steward.pgdump` (PostgreSQL). */
  path: string;
}

/** `manifest.json`, the first member of a backup: what it holds and the SHA-256 of every other member. */
export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  version: typeof BACKUP_FORMAT_VERSION;
  stewardVersion: string;
  createdAt: number;
  store: { kind: StoreKind; member: string; migration: string | null };
  artifacts: boolean;
  members: BackupMember[];
}

export function buildManifest(stewardVersion: string, store: BackupManifest['store'], artifacts: boolean, members: BackupMember[], now = Date.now()): BackupManifest {
  return { format: BACKUP_FORMAT, version: BACKUP_FORMAT_VERSION, stewardVersion, createdAt: now, store, artifacts, members };
}

/** Checks the manifest's shape; returns why it is unusable, or null. */
export function manifestProblem(m: unknown): string | null {
  const x = m as Partial<BackupManifest> | null;
  if (!x || x.format !== BACKUP_FORMAT) return 'not a Steward control-plane backup (manifest.json missing or of another format)';
  if (x.version !== BACKUP_FORMAT_VERSION) return `backup format version ${String(x.version)} is not supported (this Steward reads ${BACKUP_FORMAT_VERSION})`;
  if (!x.store || (x.store.kind !== 'sqlite' && x.store.kind !== 'postgres') || typeof x.store.member !== 'string') return 'manifest has no valid store';
  if (!Array.isArray(x.members)) return 'manifest has no member list';
  for (const mem of x.members) {
    if (typeof mem?.path !== 'string' || typeof mem.sha256 !== 'string' || typeof mem.size !== 'number' || typeof mem.mode !== 'number') return 'manifest lists a malformed member';
    if (mem.path.startsWith('/') || mem.path.split('/').includes('..')) return `manifest member ${JSON.stringify(mem.path)} leaves the data dir`;
  }
  if (!x.members.some((mem) => mem.path === x.store!.member)) return 'manifest does not list the store';
  return null;
}
