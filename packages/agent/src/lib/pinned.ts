import { existsSync, constants } from 'node:fs';
import { lstat, open, readdir, readlink, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { HandlerFailure } from '../core/errors.js';
import { within } from './confine.js';

/**
 * Linux's O_PATH (the same value on x86-64, arm and arm64; Node does not export it): an fd that
 * names an inode without opening it for I/O, so it works on files root could not read and on
 * directories, and fstat works on it.
 */
const O_PATH = 0o10000000;
const { O_NOFOLLOW, O_DIRECTORY, O_RDONLY } = constants;

/** Where the kernel shows what each fd is; without it (not Linux) operations stay path-based. */
export const PINNING = process.platform === 'linux' && existsSync('/proc/self/fd');

/**
 * An inode opened inside the fs roots, checked after opening. `via` is `/proc/self/fd/N`: a
 * path the kernel resolves to exactly this inode instead of walking the path again, so what
 * was checked is what is changed, however the path's directories are swapped meanwhile. It is
 * Linux's stand-in for the *at() calls Node lacks (`join(via, name)` acts inside the pinned
 * directory, like `unlinkat(fd, name)`).
 */
export interface Pinned {
  via: string;
  /** Where the inode actually is, as the kernel reports it. */
  real: string;
  close(): Promise<void>;
}

function changed(path: string, now: string): HandlerFailure {
  return new HandlerFailure('path_changed', `${path} changed while it was being used (it now leads to ${now}); nothing was done`, {
    details: { path },
  });
}

/** Checks an open fd against the roots; returns where it really is. */
async function verify(fh: FileHandle, path: string, realRoots: string[]): Promise<string> {
  const real = await readlink(`/proc/self/fd/${fh.fd}`);
  if (!realRoots.some((r) => within(r, real))) throw changed(path, real);
  return real;
}

/**
 * Opens `path` (already confined and fully resolved) without following a symlink in its last
 * component, and checks that the opened inode is still inside the roots. A symlink found there
 * now means the path was swapped after it was resolved: refused.
 */
export async function pin(path: string, realRoots: string[], opts: { directory?: boolean } = {}): Promise<Pinned> {
  if (!PINNING) return { via: path, real: path, close: async () => {} };
  const fh = await open(path, O_PATH | O_NOFOLLOW | (opts.directory ? O_DIRECTORY : 0));
  try {
    const real = await verify(fh, path, realRoots);
    if ((await fh.stat()).isSymbolicLink()) throw changed(path, await readlink(path).catch(() => '?'));
    return { via: `/proc/self/fd/${fh.fd}`, real, close: () => fh.close() };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** Runs `fn` with `path` pinned, and closes it after. */
export async function withPinned<T>(path: string, realRoots: string[], opts: { directory?: boolean }, fn: (p: Pinned) => Promise<T>): Promise<T> {
  const p = await pin(path, realRoots, opts);
  try {
    return await fn(p);
  } finally {
    await p.close();
  }
}

/** Opens a file for reading without following a final symlink, and checks where it is. */
export async function openReadPinned(path: string, flags: number, realRoots: string[]): Promise<FileHandle> {
  const fh = await open(path, flags | (PINNING ? O_NOFOLLOW : 0));
  if (!PINNING) return fh;
  try {
    await verify(fh, path, realRoots);
    return fh;
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/**
 * Removes `name` inside the pinned directory `dirVia`, recursively, never following a symlink:
 * each subdirectory is opened with O_NOFOLLOW before it is entered, so a directory swapped for a
 * link to elsewhere fails with ELOOP instead of leading the removal out of the tree.
 */
export async function removeTree(dirVia: string, name: string): Promise<void> {
  const path = join(dirVia, name);
  const st = await lstat(path);
  if (!st.isDirectory()) return unlink(path);
  const fh = await open(path, O_RDONLY | O_DIRECTORY | (PINNING ? O_NOFOLLOW : 0));
  try {
    const via = PINNING ? `/proc/self/fd/${fh.fd}` : path;
    for (const child of await readdir(via)) await removeTree(via, child);
  } finally {
    await fh.close();
  }
  await rmdir(path);
}
