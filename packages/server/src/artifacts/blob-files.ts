import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, type ReadStream } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { newId, PayloadTooLargeError } from '@steward/protocol';
import { ChecksumMismatchError, UploadAbortedError } from './errors.js';

export interface StoredBlob {
  sha256: string;
  size: number;
}

/**
 * Content-addressed files: `<dir>/<sha[0..2]>/<sha>`. An upload streams into `<dir>/tmp/` while
 * it is hashed and counted, and is renamed into place only when whole, within the limit and
 * (if asked) of the expected SHA-256 — so a refused or broken upload leaves nothing behind,
 * and a file under its sha name always has that sha.
 */
export class BlobFiles {
  private readonly tmpDir: string;

  constructor(readonly dir: string) {
    this.tmpDir = join(dir, 'tmp');
    mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 });
  }

  path(sha256: string): string {
    return join(this.dir, sha256.slice(0, 2), sha256);
  }

  /** Leftovers of uploads a crash interrupted. */
  async cleanTemp(): Promise<void> {
    for (const name of await readdir(this.tmpDir)) await rm(join(this.tmpDir, name), { force: true });
  }

  /**
   * Reads `source` to its end into the store. Never destroys `source` on refusal: the caller
   * still has to answer on the same connection (see `discard`).
   */
  async write(source: Readable, maxBytes: number, expected?: string): Promise<StoredBlob> {
    const tmp = join(this.tmpDir, newId('upload'));
    const hash = createHash('sha256');
    let size = 0;
    const out = createWriteStream(tmp, { flags: 'wx', mode: 0o600, flush: true });
    try {
      await new Promise<void>((resolve, reject) => {
        let ended = false;
        const stop = (err: Error) => {
          source.off('data', onData);
          source.pause();
          reject(err);
        };
        const onData = (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) return stop(new PayloadTooLargeError(`the artifact is larger than the limit of ${maxBytes} bytes; nothing was stored`));
          hash.update(chunk);
          if (!out.write(chunk)) {
            source.pause();
            out.once('drain', () => source.resume());
          }
        };
        source.on('data', onData);
        source.once('end', () => {
          ended = true;
          out.end(() => resolve());
        });
        source.once('close', () => {
          if (!ended) stop(new UploadAbortedError());
        });
        source.once('error', () => stop(new UploadAbortedError()));
        out.once('error', (e) => stop(e));
      });
      const sha256 = hash.digest('hex');
      if (expected && expected !== sha256) throw new ChecksumMismatchError(expected, sha256);
      const final = this.path(sha256);
      mkdirSync(join(this.dir, sha256.slice(0, 2)), { recursive: true, mode: 0o700 });
      // Same bytes under the same name: an existing file is kept (de-duplication).
      if (await exists(final)) await rm(tmp, { force: true });
      else await rename(tmp, final);
      return { sha256, size };
    } catch (e) {
      out.destroy();
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async exists(sha256: string): Promise<boolean> {
    return exists(this.path(sha256));
  }

  open(sha256: string): ReadStream {
    return createReadStream(this.path(sha256));
  }

  async remove(sha256: string): Promise<void> {
    await rm(this.path(sha256), { force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Reads and drops what is left of a refused request body, so the answer goes out on a
 * connection in a clean state; a body still arriving after `graceMs` has its connection cut.
 */
export function discard(source: Readable, graceMs: number): Promise<void> {
  if (source.readableEnded || source.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => source.destroy(), graceMs);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    source.once('end', done);
    source.once('close', done);
    source.on('data', () => {});
    source.resume();
  });
}
