import { createHash } from 'node:crypto';
import { readFile, rm, stat } from 'node:fs/promises';
import { atomicWrite } from '../../lib/atomic-write.js';

/** What one path should hold: content and mode, or nothing. */
export type Desired = { data: Buffer; mode: number } | null;
export type FileSet = Map<string, Desired>;

export const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

async function current(path: string): Promise<Desired> {
  try {
    const [data, st] = await Promise.all([readFile(path), stat(path)]);
    return { data, mode: st.mode & 0o7777 };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** What the paths of `want` hold now, to compare with and to restore. */
export async function snapshot(want: FileSet): Promise<FileSet> {
  const out: FileSet = new Map();
  for (const path of want.keys()) out.set(path, await current(path));
  return out;
}

/** True when every path already holds what is wanted, compared by SHA-256 (and mode). */
export function sameAs(want: FileSet, have: FileSet): boolean {
  for (const [path, w] of want) {
    const h = have.get(path) ?? null;
    if (w === null || h === null) {
      if (w !== h) return false;
    } else if (sha256(w.data) !== sha256(h.data) || w.mode !== h.mode) {
      return false;
    }
  }
  return true;
}

/** Makes every path hold what `set` says: atomic replace (temp + rename) or removal. */
export async function put(set: FileSet): Promise<void> {
  for (const [path, d] of set) {
    if (d === null) await rm(path, { force: true });
    else await atomicWrite(path, d.data, d.mode);
  }
}
