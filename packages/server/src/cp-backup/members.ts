import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { ENDPOINT_FILE } from '@steward/protocol/node';

/** Where the store sits in a data dir and in a backup. */
export const SQLITE_FILE = 'steward.db';
export const PG_DUMP_FILE = 'steward.pgdump';
export const MANIFEST_FILE = 'manifest.json';
/** What a restore leaves in the data dir: the manifest of the backup it came from (operators and support read it). */
export const RESTORED_FROM_FILE = 'restored-from.json';
export const ARTIFACTS_DIR = 'artifacts';

/**
 * Data-dir entries that are not copied: the live store (a consistent snapshot goes in instead),
 * SQLite's side files, the running server's endpoint (pid and URL of that process), uploads in
 * flight, and the working dirs of a backup or restore.
 */
function skipped(rel: string): boolean {
  const top = rel.split(sep)[0]!;
  return (
    top.startsWith(`${SQLITE_FILE}`) ||
    top === ENDPOINT_FILE ||
    top === RESTORED_FROM_FILE ||
    top.startsWith('.cp-backup-') ||
    rel.startsWith(join(ARTIFACTS_DIR, 'tmp') + sep)
  );
}

/**
 * The regular files of the data dir a backup carries, relative to it: key material (command
 * signing key, secrets key, CA and TLS keys, admin token) and, unless `artifacts` is false, the
 * artifact store. Unknown files are carried too, so a key a later version keeps there is not lost.
 */
export function dataDirFiles(dataDir: string, artifacts: boolean): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      const rel = relative(dataDir, full);
      if (skipped(rel) || (!artifacts && rel.split(sep)[0] === ARTIFACTS_DIR)) continue;
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) out.push(rel);
    }
  };
  walk(dataDir);
  return out.sort();
}

export interface FileFacts {
  size: number;
  sha256: string;
  mode: number;
}

export async function fileFacts(path: string): Promise<FileFacts> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest('hex'), mode: statSync(path).mode & 0o777 };
}
