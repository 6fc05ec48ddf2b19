import { statSync, watch, type FSWatcher } from 'node:fs';
import type { ServiceLogsFollowResult } from '@steward/protocol';
import { readLogBytes } from './logs.js';

/** How often the log is looked at when no change notice came (a missed inotify event, a file not there yet). */
const POLL_MS = 250;
/** What one read takes at most; a log that grew more is read again at once. */
const READ_BYTES = 256 * 1024;

export interface FollowOptions {
  path: string;
  /** Where to start; omitted: the last `tailBytes`. */
  offset: number | undefined;
  tailBytes: number;
  /** Stops following (the executor ends the command `cancelled`). */
  signal: AbortSignal;
  /** When to stop on its own (epoch ms), before the executor's timeout would fail the command. */
  until: number;
  /** Stop after this many bytes (the agent's stream cap: more would be dropped anyway). */
  maxBytes: number;
  /** False once the service is gone. */
  exists: () => boolean;
  write: (data: Buffer) => void;
}

/**
 * Streams a service's log: the tail, then every new byte as the service writes it. The log is
 * rotated by copy-and-truncate (logs.ts), which keeps the file's inode, and the file may have
 * grown back past our offset before we look, so a rotation is told by a new `path.1` (each
 * rotation copies into a fresh one): what was written between our last read and the copy is
 * read from it first, then the log from its start. Without kept parts (logKeep 0) only a file
 * shorter than our offset tells, and what the service wrote just before is lost.
 */
export async function followLog(o: FollowOptions): Promise<ServiceLogsFollowResult> {
  let offset = o.offset;
  let bytes = 0;
  let wake: (() => void) | null = null;
  const nudge = () => wake?.();
  let watcher: FSWatcher | null = null;
  let rotated = inodeOf(`${o.path}.1`);
  const onAbort = () => nudge();
  o.signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      // Cancelled (or the executor's own timeout): the command has already ended, this result goes nowhere.
      if (o.signal.aborted) return { bytes, offset: offset ?? 0, ended: 'timeout' };
      if (!o.exists()) return { bytes, offset: offset ?? 0, ended: 'removed' };
      // Read until the file has nothing new.
      for (;;) {
        const part = inodeOf(`${o.path}.1`);
        if (part !== rotated) {
          rotated = part;
          if (offset !== undefined && part !== null) {
            bytes += sendRotatedRest(o, offset);
            offset = 0;
          }
        }
        const chunk = readLogBytes(o.path, offset, offset === undefined ? o.tailBytes : READ_BYTES);
        if (chunk.data.length > 0) {
          o.write(chunk.data);
          bytes += chunk.data.length;
        }
        offset = chunk.offset;
        if (bytes >= o.maxBytes) return { bytes, offset, ended: 'cap' };
        if (chunk.offset >= chunk.size) break;
      }
      watcher ??= tryWatch(o.path, nudge);
      const left = o.until - Date.now();
      if (left <= 0) return { bytes, offset, ended: 'timeout' };
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(POLL_MS, left));
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = null;
    }
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    watcher?.close();
  }
}

/** The part of the rotated-away file (`path.1`) past `from`, written out; its length. */
function sendRotatedRest(o: FollowOptions, from: number): number {
  let sent = 0;
  let at = from;
  for (;;) {
    const chunk = readLogBytes(`${o.path}.1`, at, READ_BYTES);
    // A `.1` shorter than where we were is not the file we were reading (rotated twice, or keep 0).
    if (chunk.offset < at || chunk.data.length === 0) return sent;
    o.write(chunk.data);
    sent += chunk.data.length;
    at = chunk.offset;
  }
}

function inodeOf(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}

/** An inotify watch to wake up early; without one (no file yet, no inotify) polling alone does it. */
function tryWatch(path: string, onChange: () => void): FSWatcher | null {
  try {
    const w = watch(path, { persistent: false }, onChange);
    w.on('error', () => w.close());
    return w;
  } catch {
    return null;
  }
}
