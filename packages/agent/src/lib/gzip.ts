import { closeSync, openSync, readSync } from 'node:fs';

/** True when the file starts with the gzip magic bytes (a .tar.gz rather than a single file). */
export function isGzip(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}
