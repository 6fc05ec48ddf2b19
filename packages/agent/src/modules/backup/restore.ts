import { randomBytes } from 'node:crypto';
import { chmod, lchown, mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ProgressSink } from '../../core/progress.js';
import { confine } from '../../lib/confine.js';
import { fsFailure } from '../../lib/fs-failure.js';
import { HandlerFailure } from '../types.js';
import { extractArchive, readTreeEntries } from './archive.js';
import { compareEntries, type Manifest } from './manifest.js';
import { obtainBackup, type BackupRef } from './obtain.js';
import { Phase } from './progress.js';
import type { BackupRuntime } from './runtime.js';

export interface RestoreResult {
  backupId: string;
  target: string;
  fileCount: number;
  totalBytes: number;
  archiveSha256: string;
  from: 'node' | 'control-plane';
}

/** `target` may not hold anything yet: a restore never mixes with or overwrites what is there. */
async function checkTargetFree(target: string, asGiven: string): Promise<'absent' | 'empty'> {
  const st = await stat(target).catch((e) => ((e as NodeJS.ErrnoException).code === 'ENOENT' ? null : Promise.reject(fsFailure(e, asGiven))));
  if (!st) return 'absent';
  if (!st.isDirectory()) throw new HandlerFailure('target_exists', `${asGiven} exists and is not a directory`, { details: { target: asGiven } });
  if ((await readdir(target)).length > 0) {
    throw new HandlerFailure('target_not_empty', `${asGiven} is not empty; restore into a new or empty directory`, { details: { target: asGiven } });
  }
  return 'empty';
}

/**
 * Modes as the manifest says (the umask changed them on extraction); deepest first, so a
 * read-only directory does not block its children. Setuid, setgid and sticky bits are masked off
 * unless the operator asks: the agent extracts as its own user (root), so a setuid file of some
 * other user in the backup would otherwise come back setuid root.
 */
async function applyModes(root: string, manifest: Manifest, keepSpecialBits: boolean): Promise<void> {
  const mask = keepSpecialBits ? 0o7777 : 0o777;
  const byDepth = [...manifest.entries].filter((e) => e.type !== 'symlink').sort((a, b) => b.path.split('/').length - a.path.split('/').length);
  for (const e of byDepth) await chmod(join(root, e.path), parseInt(e.mode, 8) & mask);
}

/** As root, the restored tree belongs to whoever owns the directory it lands in, not to root. */
async function giveToOwnerOf(root: string, manifest: Manifest, parent: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = await stat(parent);
  if (uid === 0 && gid === 0) return;
  await lchown(root, uid, gid);
  for (const e of manifest.entries) await lchown(join(root, e.path), uid, gid);
}

/**
 * Restores into `target`: the archive's SHA-256 is checked first, then it is unpacked into a
 * staging directory beside the target and every file is compared with the manifest; only a
 * tree that matches entirely is renamed into place. A tampered backup leaves the target as it was.
 * Progress: downloading (from the control plane), checking, extracting, verifying.
 */
export async function restoreBackup(rt: BackupRuntime, ref: BackupRef & { target: string; keepSpecialBits?: boolean }, signal: AbortSignal, progress: ProgressSink = () => {}): Promise<RestoreResult> {
  const { entry: target } = await confine(ref.target, rt.roots);
  const state = await checkTargetFree(target, ref.target);
  const work = await rt.kept.workDir(`restore-${ref.backupId}`);
  const staging = join(dirname(target), `.${basename(target)}.restore-${randomBytes(6).toString('hex')}`);
  try {
    const { archive, manifest, where } = await obtainBackup(rt, ref, work, signal, progress);
    await mkdir(dirname(target), { recursive: true }).catch((e) => {
      throw fsFailure(e, dirname(ref.target));
    });
    await mkdir(staging, { mode: 0o700 });
    const extracting = new Phase(progress, 'extracting', manifest.archive.size);
    await extractArchive(archive, staging, (n) => extracting.add(n)).catch((e) => {
      throw new HandlerFailure('archive_unreadable', `backup ${ref.backupId}: the archive cannot be unpacked: ${(e as Error).message}`);
    });
    extracting.end();
    if (signal.aborted) throw new HandlerFailure('cancelled', 'the restore was cancelled');
    const verifying = new Phase(progress, 'verifying', manifest.totalBytes);
    const problems = compareEntries(manifest.entries, await readTreeEntries(staging, (n) => verifying.add(n)), false);
    verifying.end();
    if (problems.length) {
      throw new HandlerFailure('file_checksum_mismatch', `backup ${ref.backupId} does not match its manifest; nothing was restored: ${problems.slice(0, 3).join('; ')}`, {
        details: { backupId: ref.backupId, problems: problems.slice(0, 50) },
      });
    }
    await giveToOwnerOf(staging, manifest, dirname(target));
    await applyModes(staging, manifest, ref.keepSpecialBits === true);
    await chmod(staging, 0o755);
    // Checked again: something may have appeared in the target meanwhile.
    if ((await checkTargetFree(target, ref.target)) === 'empty' || state === 'empty') await rmdir(target).catch(() => {});
    await rename(staging, target);
    return { backupId: ref.backupId, target: ref.target, fileCount: manifest.fileCount, totalBytes: manifest.totalBytes, archiveSha256: manifest.archive.sha256, from: where };
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  }
}
