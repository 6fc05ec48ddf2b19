import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { ExcludeMatcher } from './exclude.js';
import { formatMode, type ManifestEntry } from './manifest.js';

/** tar is loaded on first use: most agents never unpack or pack an archive (issue 17: idle footprint). */
const loadTar = () => import('tar');

/** Entry paths as tar writes them (`./a/b/`) → as the manifest keeps them (`a/b`); `''` is the root. */
export function normalizeEntryPath(p: string): string {
  return p.replace(/^(\.\/)+/, '').replace(/^\.$/, '').replace(/\/+$/, '');
}

/** Told of each piece of bytes read or written, for progress. */
export type OnBytes = (n: number) => void;

/** A pass-through that tells `onBytes` what goes through it. */
function counter(onBytes: OnBytes): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
}

export async function hashFile(path: string, onBytes?: OnBytes): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
    onBytes?.(chunk.length);
  }
  return { sha256: hash.digest('hex'), size };
}

/** Sockets, FIFOs and devices are not content; the manifest could not describe them. */
const archivable = (st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }) => st.isFile() || st.isDirectory() || st.isSymbolicLink();

const BLOCK = 512;
const blocks = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/** What `createArchive` will take from a tree, found before it starts (for progress totals). */
export interface TreeSize {
  files: number;
  /** Content bytes of the files. */
  bytes: number;
  /** The uncompressed tar stream, estimated: a header per entry, contents in 512-byte blocks. */
  tarBytes: number;
}

/** Walks `source` as `createArchive` will, telling `onFile` of each file's size as it goes. */
export async function scanTree(source: string, exclude: ExcludeMatcher, onFile: (size: number) => void): Promise<TreeSize> {
  // The root entry and tar's closing two zero blocks.
  const size: TreeSize = { files: 0, bytes: 0, tarBytes: BLOCK + 2 * BLOCK };
  const walk = async (dir: string, rel: string) => {
    for (const name of await readdir(dir)) {
      const path = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(dir, name));
      if (!archivable(st) || exclude.excludes(path)) continue;
      // A name too long for a plain header gets an extended (pax) header first.
      size.tarBytes += BLOCK + (path.length > 98 ? 2 * BLOCK : 0);
      if (st.isDirectory()) await walk(join(dir, name), path);
      else if (st.isFile()) {
        size.files++;
        size.bytes += st.size;
        size.tarBytes += blocks(st.size);
        onFile(st.size);
      }
    }
  };
  await walk(source, '');
  return size;
}

/**
 * Writes `source` (a real directory) as a tar.gz to `file`, leaving out what `exclude` matches;
 * `onBytes` is told of the uncompressed tar stream as it is written, `onFile` of each file taken.
 */
export async function createArchive(source: string, exclude: ExcludeMatcher, file: string, onBytes: OnBytes = () => {}, onFile: () => void = () => {}): Promise<void> {
  const pack = (await loadTar()).c(
    {
      cwd: source,
      // uid/gid/uname and the like mean nothing on another machine.
      portable: true,
      strict: true,
      filter: (path, st) => {
        const kind = 'isFile' in st ? st : null;
        return !(kind && !archivable(kind)) && !exclude.excludes(normalizeEntryPath(path));
      },
      // A file counts once its bytes have gone into the stream, not when it is found.
      onWriteEntry: (entry) => {
        if (entry.type === 'File') entry.on('end', onFile);
      },
    },
    ['.'],
  );
  // Gzip after counting, so progress is measured against the tree's own size.
  await pipeline(pack, counter(onBytes), createGzip(), createWriteStream(file));
}

const TYPES: Record<string, ManifestEntry['type'] | undefined> = { File: 'file', OldFile: 'file', ContiguousFile: 'file', Directory: 'directory', SymbolicLink: 'symlink' };

/**
 * Every entry of a tar.gz with the SHA-256 of each file's content, read from the archive
 * itself (so the manifest describes exactly what the archive holds). Entries of other types
 * (hard links, devices) are reported as problems by the caller through `unsupported`.
 */
export async function readArchiveEntries(file: string, onBytes: OnBytes = () => {}): Promise<{ entries: ManifestEntry[]; unsupported: string[] }> {
  const entries: ManifestEntry[] = [];
  const unsupported: string[] = [];
  const pending: Promise<void>[] = [];
  const list = (await loadTar()).t({
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
  await pipeline(createReadStream(file), counter(onBytes), list);
  await Promise.all(pending);
  return { entries: sortEntries(entries), unsupported };
}

export function sortEntries(entries: ManifestEntry[]): ManifestEntry[] {
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Entries of a directory tree on disk, described as the manifest describes them; `onBytes` is told of the file bytes hashed. */
export async function readTreeEntries(root: string, onBytes?: OnBytes): Promise<ManifestEntry[]> {
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
      } else if (st.isFile()) out.push({ path, type: 'file', size: st.size, mode: formatMode(st.mode), sha256: (await hashFile(abs, onBytes)).sha256 });
      else out.push({ path, type: 'file', size: -1, mode: formatMode(st.mode), sha256: 'not a regular file' });
    }
  };
  await walk(root, '');
  return sortEntries(out);
}

/**
 * Unpacks into `dir` (which must exist); paths that would leave it are refused by tar.
 * `onBytes` is told of the archive's (compressed) bytes as they are read.
 */
export async function extractArchive(file: string, dir: string, onBytes: OnBytes = () => {}): Promise<void> {
  await pipeline(createReadStream(file), counter(onBytes), (await loadTar()).x({ cwd: dir, strict: true, preservePaths: false, preserveOwner: false }));
}
