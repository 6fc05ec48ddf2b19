import { closeSync, copyFileSync, existsSync, openSync, readSync, renameSync, statSync, truncateSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export const LOG_FILE = 'output.log';

/** Opens the service's log for appending; the fd is handed to the child for stdout and stderr. */
export function openLogFd(path: string): number {
  mkdirSync(dirname(path), { recursive: true });
  return openSync(path, 'a', 0o640);
}

/**
 * Rotates by copy-and-truncate: the service keeps its own fd (it must outlive the agent, so no
 * pipe through the agent), opened O_APPEND, so after the truncate its next write lands at the
 * start of the emptied file. `path.1` is the newest old part, `path.<keep>` the oldest. A line
 * written between the copy and the truncate can be lost; that is the price of not piping.
 */
export function rotateIfLarge(path: string, maxBytes: number, keep: number): boolean {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return false;
  }
  if (size < maxBytes) return false;
  for (let i = keep - 1; i >= 1; i--) {
    if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
  }
  if (keep >= 1) copyFileSync(path, `${path}.1`);
  truncateSync(path, 0);
  return true;
}

export interface LogChunk {
  data: string;
  offset: number;
  size: number;
}

/**
 * Reads from `offset` (or the last `maxBytes` when none is given). An offset past the end means
 * the file was rotated since: reading starts over at 0.
 */
export function readLog(path: string, offset: number | undefined, maxBytes: number): LogChunk {
  const { data, ...at } = readLogBytes(path, offset, maxBytes);
  return { data: data.toString('utf8'), ...at };
}

/** `readLog` as bytes, for a reader that decodes across reads (a character may be cut at either end). */
export function readLogBytes(path: string, offset: number | undefined, maxBytes: number): { data: Buffer; offset: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return { data: Buffer.alloc(0), offset: 0, size: 0 };
  }
  try {
    const size = statSync(path).size;
    let from = offset === undefined ? Math.max(0, size - maxBytes) : offset;
    if (from > size) from = 0;
    const len = Math.min(maxBytes, size - from);
    const buf = Buffer.alloc(len);
    const n = len > 0 ? readSync(fd, buf, 0, len, from) : 0;
    return { data: buf.subarray(0, n), offset: from + n, size };
  } finally {
    closeSync(fd);
  }
}
