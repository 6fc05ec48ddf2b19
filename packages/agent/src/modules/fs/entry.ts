import type { Stats } from 'node:fs';

export type EntryType = 'file' | 'directory' | 'symlink' | 'other';

export interface FsEntry {
  name: string;
  type: EntryType;
  size: number;
  /** Permission bits as an octal string, e.g. "0644". */
  mode: string;
  /** Milliseconds since the epoch. */
  mtime: number;
}

export function entryType(st: Stats): EntryType {
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isDirectory()) return 'directory';
  return st.isFile() ? 'file' : 'other';
}

export function formatMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

export function parseMode(mode: string): number {
  return parseInt(mode, 8);
}

export function describeEntry(name: string, st: Stats): FsEntry {
  return { name, type: entryType(st), size: st.size, mode: formatMode(st.mode), mtime: Math.round(st.mtimeMs) };
}
