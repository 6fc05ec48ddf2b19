import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import * as tar from 'tar';
import { ValidationError } from '@steward/protocol';
import { localServerDataDir } from '@steward/protocol/node';
import { isPostgresUrl } from '../store/connect.js';
import { postgresTableCount, schemaLevel, sqliteSnapshot } from '../store/snapshot.js';
import { buildManifest, type BackupManifest, type BackupMember } from './manifest.js';
import { ARTIFACTS_DIR, dataDirFiles, fileFacts, MANIFEST_FILE, PG_DUMP_FILE, SQLITE_FILE } from './members.js';
import { pgDump } from './pg-tools.js';

export interface BackupOptions {
  /** The archive to write (`.tar.gz`); replaced atomically, mode 0600. */
  file: string;
  dataDir?: string;
  /** `postgres://…` of the store; else the SQLite store in the data dir. */
  db?: string;
  /** Carry the artifact store (default true; it can be large). */
  artifacts?: boolean;
  /** Directory of pg_dump (PostgreSQL). */
  pgBin?: string;
  /** The Steward version written into the manifest (the composition root knows it). */
  stewardVersion: string;
}

/**
 * Writes one tar.gz with a consistent copy of the store and the data dir's keys while the
 * control plane keeps serving: SQLite through its online backup API, PostgreSQL through
 * `pg_dump` (one snapshot transaction). The store is copied first and the files after it, so
 * every artifact the copied store names is in the archive. Work is staged in a hidden dir
 * inside the data dir (artifacts are hard-linked there, not copied, where the filesystem allows).
 */
export async function backupControlPlane(o: BackupOptions): Promise<BackupManifest> {
  const dataDir = resolve(o.dataDir ?? localServerDataDir());
  const file = resolve(o.file);
  if (file === dataDir || file.startsWith(dataDir + sep)) throw new ValidationError('the backup file must be outside the data dir (it would back itself up)');
  const artifacts = o.artifacts ?? true;
  const postgres = o.db !== undefined && isPostgresUrl(o.db);
  const sqlitePath = join(dataDir, SQLITE_FILE);
  if (!postgres && !existsSync(sqlitePath)) throw new ValidationError(`no store at ${sqlitePath}: is --data-dir right (or is the store PostgreSQL: --db)?`);
  if (postgres && (await postgresTableCount(o.db!)) === 0) throw new ValidationError('the PostgreSQL database is empty: is --db right?');

  const staging = mkdtempSync(join(dataDir, '.cp-backup-'));
  try {
    const storeMember = postgres ? PG_DUMP_FILE : SQLITE_FILE;
    let migration: string | null;
    if (postgres) {
      migration = await schemaLevel(o.db!);
      await pgDump(o.db!, join(staging, storeMember), o.pgBin);
    } else {
      await sqliteSnapshot(sqlitePath, join(staging, storeMember));
      migration = await schemaLevel(join(staging, storeMember));
    }
    const paths = dataDirFiles(dataDir, artifacts);
    for (const rel of paths) stage(join(dataDir, rel), join(staging, rel), rel.split(sep)[0] === ARTIFACTS_DIR);
    const members: BackupMember[] = [];
    for (const rel of [storeMember, ...paths]) members.push({ path: rel.split(sep).join('/'), ...(await fileFacts(join(staging, rel))) });
    const manifest = buildManifest(o.stewardVersion, { kind: postgres ? 'postgres' : 'sqlite', member: storeMember, migration }, artifacts, members);
    writeFileSync(join(staging, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });

    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      // Portable headers (no uid/gid/owner names); the manifest first, so a reader finds it early.
      await tar.c({ gzip: true, file: tmp, cwd: staging, portable: true, mode: 0o600 }, [MANIFEST_FILE, ...members.map((m) => m.path)]);
      chmodSync(tmp, 0o600);
      renameSync(tmp, file);
    } finally {
      rmSync(tmp, { force: true });
    }
    return manifest;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * A frozen view of one data-dir file. Keys are small: copied. Artifacts are content-addressed
 * and never rewritten in place: a hard link is as good as a copy and costs no space.
 */
function stage(from: string, to: string, linkable: boolean): void {
  mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
  if (linkable) {
    try {
      linkSync(from, to);
      return;
    } catch {
      // another filesystem or no hard links: copy
    }
  }
  copyFileSync(from, to);
}

