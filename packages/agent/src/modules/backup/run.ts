import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fsFailure } from '../../lib/fs-failure.js';
import { HandlerFailure } from '../types.js';
import { createArchive, hashFile, readArchiveEntries } from './archive.js';
import { ExcludeMatcher } from './exclude.js';
import { ARCHIVE_FILE, MANIFEST_FILE } from './kept.js';
import { MANIFEST_VERSION, type Manifest } from './manifest.js';
import type { BackupRuntime } from './runtime.js';
import { confinedDirectory } from './source.js';

/** Results carry the manifest's entries up to this many; beyond, the manifest file has them. */
export const MAX_RESULT_ENTRIES = 10_000;

export interface RunRequest {
  backupId: string;
  source: string;
  exclude: string[];
  destination: 'node' | 'control-plane';
  scheduleId?: string;
}

export interface RunResult {
  backupId: string;
  nodeId: string;
  source: string;
  exclude: string[];
  destination: 'node' | 'control-plane';
  scheduleId: string | null;
  createdAt: number;
  archiveSha256: string;
  archiveSize: number;
  /** The manifest's artifact in the control plane's store; null for node-kept backups. */
  manifestSha256: string | null;
  fileCount: number;
  totalBytes: number;
  manifest: Manifest;
  /** True when `manifest.entries` was left out of this result for its size. */
  entriesOmitted: boolean;
}

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new HandlerFailure('cancelled', 'the backup was cancelled');
}

/** Makes the tar.gz and its manifest, then keeps them here or hands them to the control plane. */
export async function runBackup(rt: BackupRuntime, req: RunRequest, signal: AbortSignal): Promise<RunResult> {
  const source = await confinedDirectory(req.source, rt.roots);
  const work = await rt.kept.workDir(req.backupId);
  try {
    const archive = join(work, ARCHIVE_FILE);
    await createArchive(source, new ExcludeMatcher(req.exclude), archive).catch((e) => {
      throw fsFailure(e, req.source);
    });
    checkAborted(signal);
    const { sha256, size } = await hashFile(archive);
    // The manifest is read back from the archive, so it describes exactly what the archive holds
    // even when files changed while tar read them.
    const { entries } = await readArchiveEntries(archive);
    checkAborted(signal);
    const files = entries.filter((e) => e.type === 'file');
    const manifest: Manifest = {
      version: MANIFEST_VERSION,
      backupId: req.backupId,
      nodeId: rt.link.node.id,
      nodeName: rt.link.node.name,
      source: req.source,
      exclude: req.exclude,
      ...(req.scheduleId ? { scheduleId: req.scheduleId } : {}),
      createdAt: Date.now(),
      archive: { format: 'tar.gz', sha256, size },
      fileCount: files.length,
      totalBytes: files.reduce((n, f) => n + f.size, 0),
      entries,
    };
    const manifestFile = join(work, MANIFEST_FILE);
    await writeFile(manifestFile, JSON.stringify(manifest, null, 1) + '\n', { mode: 0o600 });
    let manifestSha256: string | null = null;
    if (req.destination === 'node') {
      await rt.kept.keep(work, req.backupId);
    } else {
      await rt.link.uploadArtifact(archive, { name: `${req.backupId}.tar.gz`, sha256, signal });
      manifestSha256 = (await hashFile(manifestFile)).sha256;
      await rt.link.uploadArtifact(manifestFile, { name: `${req.backupId}.manifest.json`, sha256: manifestSha256, signal });
    }
    const entriesOmitted = entries.length > MAX_RESULT_ENTRIES;
    return {
      backupId: req.backupId,
      nodeId: rt.link.node.id,
      source: req.source,
      exclude: req.exclude,
      destination: req.destination,
      scheduleId: req.scheduleId ?? null,
      createdAt: manifest.createdAt,
      archiveSha256: sha256,
      archiveSize: size,
      manifestSha256,
      fileCount: manifest.fileCount,
      totalBytes: manifest.totalBytes,
      manifest: entriesOmitted ? { ...manifest, entries: [] } : manifest,
      entriesOmitted,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
