import { rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProgressSink } from '../../core/progress.js';
import { fsFailure } from '../../lib/fs-failure.js';
import { HandlerFailure } from '../types.js';
import { createArchive, hashFile, readArchiveEntries, scanTree } from './archive.js';
import { ExcludeMatcher } from './exclude.js';
import { ARCHIVE_FILE, MANIFEST_FILE } from './kept.js';
import { MANIFEST_VERSION, type Manifest } from './manifest.js';
import { Phase } from './progress.js';
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

/**
 * Makes the tar.gz and its manifest, then keeps them here or hands them to the control plane.
 * Progress: scanning (the tree is walked first, for totals), archiving, checking, uploading.
 */
export async function runBackup(rt: BackupRuntime, req: RunRequest, signal: AbortSignal, progress: ProgressSink = () => {}): Promise<RunResult> {
  const source = await confinedDirectory(req.source, rt.roots);
  const work = await rt.kept.workDir(req.backupId);
  try {
    const archive = join(work, ARCHIVE_FILE);
    const exclude = new ExcludeMatcher(req.exclude);
    const scanning = new Phase(progress, 'scanning', null);
    const tree = await scanTree(source, exclude, (size) => scanning.add(size, 1)).catch((e) => {
      throw fsFailure(e, req.source);
    });
    scanning.end();
    checkAborted(signal);
    const archiving = new Phase(progress, 'archiving', tree.tarBytes, tree.files);
    await createArchive(source, exclude, archive, (n) => archiving.add(n), () => archiving.add(0, 1)).catch((e) => {
      throw fsFailure(e, req.source);
    });
    archiving.end();
    checkAborted(signal);
    const { size: archiveSize } = await stat(archive);
    // Read twice: once for its SHA-256, once for the manifest.
    const checking = new Phase(progress, 'checking', 2 * archiveSize);
    const { sha256, size } = await hashFile(archive, (n) => checking.add(n));
    // The manifest is read back from the archive, so it describes exactly what the archive holds
    // even when files changed while tar read them.
    const { entries } = await readArchiveEntries(archive, (n) => checking.add(n));
    checking.end();
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
      const manifestHash = await hashFile(manifestFile);
      manifestSha256 = manifestHash.sha256;
      const uploading = new Phase(progress, 'uploading', size + manifestHash.size);
      const onBytes = (n: number) => uploading.add(n);
      await rt.link.uploadArtifact(archive, { name: `${req.backupId}.tar.gz`, sha256, signal, onBytes });
      await rt.link.uploadArtifact(manifestFile, { name: `${req.backupId}.manifest.json`, sha256: manifestSha256, signal, onBytes });
      uploading.end();
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
