import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar';
import type { ExcludeMatcher } from './exclude.js';
import { formatMode, type ManifestEntry } from './manifest.js';

/** Entry paths as tar writes them (`./a/b/`) → as the manifest keeps them (`a/b`); `''` is the root. */
export function normalizeEntryPath(p: string): string {
  return p.replace(/^(\.\/)+/, '').replace(/^\.$/, '').replace(/\/+$/, '');
}

export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Writes `source` (a real directory) as a tar.gz to `file`, leaving out what `exclude` matches. */
export async function createArchive(source: string, exclude: ExcludeMatcher, file: string): Promise<void> {
  await tar.c(
    {
      gzip: true,
      file,
      cwd: source,
      // uid/gid/uname and the like mean nothing on another machine.
      portable: true,
      strict: true,
      filter: (path, st) => {
        const rel = normalizeEntryPath(path);
        // Sockets, FIFOs and devices are not content; the manifest could not describe them.
        const kind = 'isFile' in st ? st : null;
        if (kind && !(kind.isFile() || kind.isDirectory() || kind.isSymbolicLink())) return false;
        return !exclude.excludes(rel);
      },
    },
    ['.'],
  );
}

const TYPES: Record<string, ManifestEntry['type'] | undefined> = { File: 'file', OldFile: 'file', ContiguousFile: 'file', Directory: 'directory', SymbolicLink: 'symlink' };

/**
 * Every entry of a tar.gz with the SHA-256 of each file's content, read from the archive
 * itself (so the manifest describes exactly what the archive holds). Entries of other types
 * (hard links, devices) are reported as problems by the caller through `unsupported`.
 */
export async function readArchiveEntries(file: string): Promise<{ entries: ManifestEntry[]; unsupported: string[] }> {
  const entries: ManifestEntry[] = [];
  const unsupported: string[] = [];
  const pending: Promise<void>[] = [];
  await tar.t({
    file,
    strict: true,
    onReadEntry: (e) => {
      const path = normalizeEntryPath(e.path);
      const type = TYPES[e.type];
      if (!path) return e.resume();
      if (!type) {
        unsupported.push(`${path} (${e.type})`);
        return e.resume();
      }
      if (type !== 'file') {
        entries.push({ path, type, size: 0, mode: type === 'symlink' ? '0777' : formatMode(e.mode ?? 0o755), ...(type === 'symlink' ? { linkTarget: e.linkpath ?? '' } : {}) });
        return e.resume();
      }
      const hash = createHash('sha256');
      let size = 0;
      pending.push(
        new Promise<void>((resolve, reject) => {
          e.on('data', (d: Buffer) => {
            hash.update(d);
            size += d.length;
          });
          e.on('end', () => {
            entries.push({ path, type, size, mode: formatMode(e.mode ?? 0o644), sha256: hash.digest('hex') });
            resolve();
          });
          e.on('error', reject);
        }),
      );
    },
  });
  await Promise.all(pending);
  return { entries: sortEntries(entries), unsupported };
}

export function sortEntries(entries: ManifestEntry[]): ManifestEntry[] {
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Entries of a directory tree on disk, described as the manifest describes them. */
export async function readTreeEntries(root: string): Promise<ManifestEntry[]> {
  const out: ManifestEntry[] = [];
  const walk = async (dir: string, rel: string) => {
    for (const name of (await readdir(dir)).sort()) {
      const abs = join(dir, name);
      const path = rel ? `${rel}/${name}` : name;
      const st = await lstat(abs);
      if (st.isSymbolicLink()) out.push({ path, type: 'symlink', size: 0, mode: '0777', linkTarget: await readlink(abs) });
      else if (st.isDirectory()) {
        out.push({ path, type: 'directory', size: 0, mode: formatMode(st.mode) });
        await walk(abs, path);
      } else if (st.isFile()) out.push({ path, type: 'file', size: st.size, mode: formatMode(st.mode), sha256: (await hashFile(abs)).sha256 });
      else out.push({ path, type: 'file', size: -1, mode: formatMode(st.mode), sha256: 'not a regular file' });
    }
  };
  await walk(root, '');
  return sortEntries(out);
}

/** Unpacks into `dir` (which must exist); paths that would leave it are refused by tar. */
export async function extractArchive(file: string, dir: string): Promise<void> {
  await tar.x({ file, cwd: dir, strict: true, preservePaths: false, preserveOwner: false });
}
