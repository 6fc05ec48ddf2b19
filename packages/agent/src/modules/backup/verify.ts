import { rm } from 'node:fs/promises';
import type { ProgressSink } from '../../core/progress.js';
import { HandlerFailure } from '../types.js';
import { readArchiveEntries } from './archive.js';
import { compareEntries } from './manifest.js';
import { obtainBackup, type BackupRef } from './obtain.js';
import { Phase } from './progress.js';
import type { BackupRuntime } from './runtime.js';

const MAX_PROBLEMS = 50;

export interface VerifyResult {
  backupId: string;
  ok: true;
  where: 'node' | 'control-plane';
  archiveSha256: string;
  fileCount: number;
  totalBytes: number;
}

/** Re-hashes the archive and every file in it against the manifest; fails on any difference. */
export async function verifyBackup(rt: BackupRuntime, ref: BackupRef, signal: AbortSignal, progress: ProgressSink = () => {}): Promise<VerifyResult> {
  const work = await rt.kept.workDir(`verify-${ref.backupId}`);
  try {
    const { archive, manifest, where } = await obtainBackup(rt, ref, work, signal, progress);
    const verifying = new Phase(progress, 'verifying', manifest.archive.size);
    const { entries, unsupported } = await readArchiveEntries(archive, (n) => verifying.add(n));
    verifying.end();
    const problems = [...unsupported.map((u) => `${u}: unsupported entry type`), ...compareEntries(manifest.entries, entries)];
    if (problems.length) {
      throw new HandlerFailure('file_checksum_mismatch', `backup ${ref.backupId} does not match its manifest: ${problems.slice(0, 3).join('; ')}`, {
        details: { backupId: ref.backupId, problems: problems.slice(0, MAX_PROBLEMS) },
        result: { backupId: ref.backupId, ok: false, problems: problems.slice(0, MAX_PROBLEMS) },
      });
    }
    return { backupId: ref.backupId, ok: true, where, archiveSha256: manifest.archive.sha256, fileCount: manifest.fileCount, totalBytes: manifest.totalBytes };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
