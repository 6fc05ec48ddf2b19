import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, rename, rm, symlink, readdir, copyFile, readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ServiceArtifact } from '@steward/protocol';
import { AgentError } from '../../core/errors.js';
import { isGzip } from '../../lib/gzip.js';
import { TransferError } from '../../link/checksummed-file.js';
import { downloadUrl, type ServerLink } from '../../link/server-link.js';

/** tar is loaded on first use: most agents never unpack or pack an archive (issue 17: idle footprint). */
const loadTar = () => import('tar');

/** Written into a version dir once it is complete: the verified artifact's SHA-256. */
const MARKER = '.steward-sha256';

/** An artifact that cannot be installed; transfers fail with the link's `TransferError`/`LinkError`. */
export class InstallError extends AgentError<'download_failed' | 'unpack_failed'> {}

/** Lays out `<servicesDir>/<name>/<version>/` and the `current` symlink. */
export class Installer {
  constructor(
    readonly servicesDir: string,
    private readonly link: ServerLink,
  ) {}

  serviceDir(name: string): string {
    return join(this.servicesDir, name);
  }

  versionDir(name: string, version: string): string {
    return join(this.servicesDir, name, version);
  }

  /** True when the version dir is complete and holds exactly this artifact. */
  installed(name: string, version: string, sha256: string): boolean {
    try {
      return readFileSync(join(this.versionDir(name, version), MARKER), 'utf8').trim() === sha256;
    } catch {
      return false;
    }
  }

  /**
   * Downloads to a temporary file while hashing, compares the SHA-256, and only then unpacks into
   * a staging dir that is renamed into place. A mismatch deletes the download; no version dir
   * appears. Re-installing a version already present with the same checksum does nothing.
   */
  async install(name: string, version: string, artifact: ServiceArtifact, signal?: AbortSignal): Promise<{ dir: string; reused: boolean }> {
    const dir = this.versionDir(name, version);
    if (this.installed(name, version, artifact.sha256)) return { dir, reused: true };
    const base = this.serviceDir(name);
    await mkdir(base, { recursive: true });
    const tag = randomBytes(6).toString('hex');
    const download = join(base, `.download-${tag}`);
    const staging = join(base, `.staging-${tag}`);
    try {
      await this.download(artifact, download, signal);
      await mkdir(staging);
      const format = artifact.format ?? (isGzip(download) ? 'tar.gz' : 'file');
      if (format === 'tar.gz') {
        try {
          await (await loadTar()).x({ file: download, cwd: staging, strict: true, preservePaths: false });
        } catch (e) {
          throw new InstallError('unpack_failed', `cannot unpack the tar.gz: ${(e as Error).message}`);
        }
      } else {
        const file = join(staging, artifact.fileName ?? fileNameOf(artifact));
        await copyFile(download, file);
        await chmod(file, 0o755);
      }
      writeFileSync(join(staging, MARKER), artifact.sha256 + '\n');
      await rm(dir, { recursive: true, force: true });
      await rename(staging, dir);
      return { dir, reused: false };
    } finally {
      await rm(download, { force: true });
      await rm(staging, { recursive: true, force: true });
    }
  }

  /**
   * From the control plane's store (with the node credential) or from the artifact's own URL;
   * either way `to` appears only once its bytes hash to `artifact.sha256`.
   */
  private async download(artifact: ServiceArtifact, to: string, signal?: AbortSignal): Promise<void> {
    if (artifact.artifactSha256) {
      // The store's bytes hash to their key; another expected sha cannot match them.
      if (artifact.artifactSha256 !== artifact.sha256) {
        throw new TransferError('checksum_mismatch', `checksum mismatch: artifact ${artifact.artifactSha256} cannot have sha256 ${artifact.sha256}; nothing was installed`, {
          expected: artifact.sha256,
          actual: artifact.artifactSha256,
        });
      }
      await this.link.downloadArtifact(artifact.artifactSha256, to, signal ? { signal } : {});
    } else if (artifact.url) {
      await downloadUrl(artifact.url, to, { sha256: artifact.sha256, ...(signal ? { signal } : {}) });
    } else {
      throw new InstallError('download_failed', 'the artifact has neither url nor artifactSha256');
    }
  }

  /** Points `current` at a version atomically: a new symlink under a temporary name renamed over the old. */
  async switchCurrent(name: string, version: string): Promise<void> {
    const base = this.serviceDir(name);
    const tmp = join(base, `.current-${randomBytes(6).toString('hex')}`);
    await symlink(version, tmp);
    await rename(tmp, join(base, 'current'));
  }

  async currentVersion(name: string): Promise<string | null> {
    try {
      return await readlink(join(this.serviceDir(name), 'current'));
    } catch {
      return null;
    }
  }

  /** Removes version dirs other than those kept (current and the one to roll back to). */
  async prune(name: string, keep: string[]): Promise<void> {
    const base = this.serviceDir(name);
    let entries: string[] = [];
    try {
      entries = await readdir(base);
    } catch {
      return;
    }
    for (const e of entries) {
      if (e === 'current' || e === 'logs' || e.startsWith('.') || keep.includes(e)) continue;
      await rm(join(base, e), { recursive: true, force: true });
    }
  }

  async uninstall(name: string): Promise<void> {
    await rm(this.serviceDir(name), { recursive: true, force: true });
  }

  exists(name: string): boolean {
    return existsSync(this.serviceDir(name));
  }
}


function fileNameOf(a: ServiceArtifact): string {
  if (a.url) {
    const n = basename(new URL(a.url).pathname);
    if (/^[A-Za-z0-9._-]{1,100}$/.test(n) && !n.startsWith('.')) return n;
  }
  return 'service';
}
