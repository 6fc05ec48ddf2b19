import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compile } from '@steward/protocol';
import type { ProgressSink } from '../../core/progress.js';
import { TransferError } from '../../link/checksummed-file.js';
import { HandlerFailure } from '../types.js';
import { hashFile } from './archive.js';
import { ARCHIVE_FILE, MANIFEST_FILE } from './kept.js';
import { Manifest } from './manifest.js';
import { Phase } from './progress.js';
import type { BackupRuntime } from './runtime.js';

const manifestCheck = compile(Manifest);

export interface BackupRef {
  backupId: string;
  /** The archive's SHA-256 as the control plane recorded it; required for backups it keeps. */
  archiveSha256?: string;
  /** The manifest's artifact, for backups kept by the control plane. */
  manifestSha256?: string;
}

export interface ObtainedBackup {
  archive: string;
  manifest: Manifest;
  where: 'node' | 'control-plane';
}

/** An artifact of a backup from the control plane's store; bytes that do not match are the backup's `archive_checksum_mismatch`. */
async function fromStore(rt: BackupRuntime, sha256: string, dest: string, signal: AbortSignal, onBytes?: (n: number) => void): Promise<void> {
  try {
    await rt.link.downloadArtifact(sha256, dest, { signal, onBytes });
  } catch (e) {
    if (e instanceof TransferError && e.code === 'checksum_mismatch') throw new HandlerFailure('archive_checksum_mismatch', e.message, { details: e.details });
    throw e;
  }
}

/**
 * The archive and manifest of a backup, from this node's own store or downloaded from the
 * control plane into `work`, with the archive's SHA-256 checked against the manifest (and
 * against `archiveSha256` when the caller knows it): a tampered archive stops here.
 * Progress: downloading (from the control plane only), then checking.
 */
export async function obtainBackup(rt: BackupRuntime, ref: BackupRef, work: string, signal: AbortSignal, progress: ProgressSink = () => {}): Promise<ObtainedBackup> {
  let archive: string;
  let manifest: Manifest;
  let where: ObtainedBackup['where'];
  if (await rt.kept.has(ref.backupId)) {
    ({ archive, manifest } = await rt.kept.get(ref.backupId));
    where = 'node';
  } else if (ref.manifestSha256 && ref.archiveSha256) {
    const manifestFile = join(work, MANIFEST_FILE);
    await fromStore(rt, ref.manifestSha256, manifestFile, signal);
    const parsed: unknown = JSON.parse(await readFile(manifestFile, 'utf8'));
    if (!manifestCheck.check(parsed) || parsed.backupId !== ref.backupId) {
      throw new HandlerFailure('manifest_invalid', `artifact ${ref.manifestSha256} is not the manifest of backup ${ref.backupId}`);
    }
    manifest = parsed;
    archive = join(work, ARCHIVE_FILE);
    // The link refuses bytes that do not hash to the sha asked for.
    const downloading = new Phase(progress, 'downloading', manifest.archive.size);
    await fromStore(rt, ref.archiveSha256, archive, signal, (n) => downloading.add(n));
    downloading.end();
    where = 'control-plane';
  } else {
    throw new HandlerFailure('backup_not_found', `no backup ${ref.backupId} is kept on this node (for a backup in the control plane's store give archiveSha256 and manifestSha256)`, {
      details: { backupId: ref.backupId },
    });
  }
  const checking = new Phase(progress, 'checking', manifest.archive.size);
  const { sha256 } = await hashFile(archive, (n) => checking.add(n));
  checking.end();
  const expected = [manifest.archive.sha256, ...(ref.archiveSha256 ? [ref.archiveSha256] : [])];
  if (expected.some((e) => e !== sha256)) {
    throw new HandlerFailure('archive_checksum_mismatch', `the archive of backup ${ref.backupId} has SHA-256 ${sha256}, expected ${expected.find((e) => e !== sha256)}: it was changed or damaged; refused`, {
      details: { backupId: ref.backupId, expected: expected[0], actual: sha256 },
    });
  }
  return { archive, manifest, where };
}
