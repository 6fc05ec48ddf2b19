import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import * as tar from 'tar';
import { ENDPOINT_FILE } from '@steward/protocol/node';
import { isPostgresUrl } from '../store/connect.js';
import { postgresTableCount } from '../store/snapshot.js';
import { BackupInvalidError, ControlPlaneRunningError, DatabaseNotEmptyError, DataDirNotEmptyError, StoreKindMismatchError } from './errors.js';
import { manifestProblem, type BackupManifest } from './manifest.js';
import { fileFacts, MANIFEST_FILE, PG_DUMP_FILE, RESTORED_FROM_FILE } from './members.js';
import { pgRestore } from './pg-tools.js';

export interface RestoreOptions {
  file: string;
  dataDir: string;
  /** `postgres://…` to restore a PostgreSQL backup into; must be empty unless `force`. */
  db?: string;
  /** Replace a non-empty data dir (and, for PostgreSQL, the objects the dump holds). */
  force?: boolean;
  pgBin?: string;
}

/**
 * Brings a backup back. Nothing is changed until the whole archive has been unpacked into a
 * staging dir beside the data dir and every member matched its size and SHA-256 in the
 * manifest; then PostgreSQL is restored in one transaction and the staged dir is renamed into
 * place (the replaced one is removed only after that rename).
 */
export async function restoreControlPlane(o: RestoreOptions): Promise<BackupManifest> {
  const dataDir = resolve(o.dataDir);
  refuseWhileRunning(dataDir);
  if (!o.force && existsSync(dataDir) && readdirSync(dataDir).length > 0) throw new DataDirNotEmptyError(dataDir);
  mkdirSync(dirname(dataDir), { recursive: true });
  const staging = mkdtempSync(join(dirname(dataDir), `.${basename(dataDir)}.restore-`));
  try {
    const manifest = await unpackVerified(resolve(o.file), staging);
    const wanted = o.db !== undefined && isPostgresUrl(o.db) ? 'postgres' : 'sqlite';
    if (manifest.store.kind !== wanted) throw new StoreKindMismatchError(manifest.store.kind, wanted === 'postgres' ? 'a PostgreSQL database (--db)' : 'a SQLite data dir (no --db)');
    if (manifest.store.kind === 'postgres') {
      const tables = await postgresTableCount(o.db!);
      if (tables > 0 && !o.force) throw new DatabaseNotEmptyError(tables);
      await pgRestore(o.db!, join(staging, PG_DUMP_FILE), tables > 0, o.pgBin);
      rmSync(join(staging, PG_DUMP_FILE));
    }
    for (const m of manifest.members) if (existsSync(join(staging, m.path))) chmodSync(join(staging, m.path), m.mode);
    // Kept for operators, and read by the control plane: it asks agents what they got after the backup point.
    writeFileSync(join(staging, RESTORED_FROM_FILE), JSON.stringify({ ...manifest, restoredAt: Date.now() }, null, 2) + '\n', { mode: 0o600 });
    rmSync(join(staging, MANIFEST_FILE));
    chmodSync(staging, 0o700);
    refuseWhileRunning(dataDir);
    swapInto(staging, dataDir);
    return manifest;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** The server writes its pid to the endpoint file when it listens; a live pid there means it still serves from this dir. */
function refuseWhileRunning(dataDir: string): void {
  let pid: number | undefined;
  try {
    pid = (JSON.parse(readFileSync(join(dataDir, ENDPOINT_FILE), 'utf8')) as { pid?: number }).pid;
  } catch {
    return; // no endpoint file: never started here, or stopped cleanly long ago
  }
  if (typeof pid !== 'number' || pid === process.pid) return;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return; // gone: a crashed or killed control plane
  }
  throw new ControlPlaneRunningError(dataDir, pid);
}

/** Unpacks into `staging`, then checks the manifest and every member; throws BackupInvalidError on any mismatch. */
async function unpackVerified(file: string, staging: string): Promise<BackupManifest> {
  if (!existsSync(file)) throw new BackupInvalidError(`no such file: ${file}`);
  const odd: string[] = [];
  try {
    await tar.x({
      file,
      cwd: staging,
      strict: true,
      filter: (path, entry) => {
        const type = 'type' in entry ? entry.type : 'File';
        if (type === 'File' || type === 'OldFile' || type === 'Directory') return true;
        odd.push(path);
        return false;
      },
    });
  } catch (e) {
    throw new BackupInvalidError(`the archive cannot be read (${(e as Error).message}); is it truncated or not a tar.gz?`);
  }
  if (odd.length) throw new BackupInvalidError('the archive holds entries that are not plain files', { entries: odd.slice(0, 20) });
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(readFileSync(join(staging, MANIFEST_FILE), 'utf8')) as BackupManifest;
  } catch {
    throw new BackupInvalidError('manifest.json is missing or not JSON');
  }
  const problem = manifestProblem(manifest);
  if (problem) throw new BackupInvalidError(problem);
  const listed = new Set(manifest.members.map((m) => m.path));
  const extra = filesUnder(staging).filter((p) => p !== MANIFEST_FILE && !listed.has(p));
  if (extra.length) throw new BackupInvalidError('the archive holds files its manifest does not list', { files: extra.slice(0, 20) });
  for (const m of manifest.members) {
    const path = join(staging, m.path);
    if (!existsSync(path)) throw new BackupInvalidError(`member ${m.path} is missing`, { path: m.path });
    const facts = await fileFacts(path);
    if (facts.size !== m.size || facts.sha256 !== m.sha256) throw new BackupInvalidError(`member ${m.path} does not match its SHA-256 in the manifest`, { path: m.path });
  }
  return manifest;
}

function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else out.push(relative(root, full).split(sep).join('/'));
    }
  };
  walk(root);
  return out;
}

/** The staged dir becomes the data dir; a replaced one is moved aside first and removed once the new one is in place. */
function swapInto(staging: string, dataDir: string): void {
  if (!existsSync(dataDir)) return renameSync(staging, dataDir);
  const aside = `${dataDir}.replaced-${Date.now()}`;
  renameSync(dataDir, aside);
  try {
    renameSync(staging, dataDir);
  } catch (e) {
    renameSync(aside, dataDir);
    throw e;
  }
  rmSync(aside, { recursive: true, force: true });
}
