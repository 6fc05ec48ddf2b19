import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { AgentError } from '../core/errors.js';

export type TransferErrorCode = 'download_failed' | 'checksum_mismatch' | 'too_large';

/** A transfer that broke off, was too large, or whose bytes do not hash to what was expected. */
export class TransferError extends AgentError<TransferErrorCode> {}

export interface ReceiveOptions {
  /** The bytes must hash to this SHA-256 (hex), or nothing appears under `dest`. */
  sha256?: string;
  /** More bytes than this stop the transfer (`too_large`). */
  maxBytes?: number;
  signal?: AbortSignal;
  /** What the bytes are, for messages ("artifact <sha>", a redacted URL). */
  what: string;
  /** Told of each piece as it arrives (progress). */
  onBytes?: (n: number) => void;
}

/** Counts and hashes what passes through; `maxBytes` ends the stream with `too_large`. */
function meter(what: string, maxBytes: number | undefined, onBytes?: (n: number) => void) {
  const hash = createHash('sha256');
  let size = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (maxBytes !== undefined && size > maxBytes) {
        return done(new TransferError('too_large', `${what} is larger than ${maxBytes} bytes; refused`, { maxBytes }));
      }
      hash.update(chunk);
      onBytes?.(chunk.length);
      done(null, chunk);
    },
  });
  return { stream, size: () => size, digest: () => hash.digest('hex') };
}

/**
 * Streams `body` into `dest` while hashing it: the bytes go to a temp file beside `dest` that is
 * renamed into place only once complete and (when `sha256` is given) verified. A broken, too
 * large or mismatching transfer leaves nothing under `dest`.
 */
export async function receiveFile(body: Readable | WebReadableStream, dest: string, o: ReceiveOptions): Promise<{ sha256: string; size: number }> {
  const tmp = join(dirname(dest), `.${basename(dest).slice(0, 100)}.${randomBytes(6).toString('hex')}.part`);
  const m = meter(o.what, o.maxBytes, o.onBytes);
  const source = body instanceof Readable ? body : Readable.fromWeb(body);
  try {
    try {
      await pipeline(source, m.stream, createWriteStream(tmp, { mode: 0o600 }), ...(o.signal ? [{ signal: o.signal }] : []));
    } catch (e) {
      if (e instanceof TransferError) throw e;
      throw new TransferError('download_failed', `download of ${o.what} broke off: ${(e as Error).message}`);
    }
    const actual = m.digest();
    if (o.sha256 !== undefined && actual !== o.sha256) {
      throw new TransferError('checksum_mismatch', `checksum mismatch: ${o.what} has SHA-256 ${actual}, expected ${o.sha256} (changed or damaged); refused`, {
        expected: o.sha256,
        actual,
      });
    }
    await rename(tmp, dest);
    return { sha256: actual, size: m.size() };
  } finally {
    await rm(tmp, { force: true });
  }
}

/** A file to send: its size up front, its SHA-256 once the stream has been read to the end. */
export interface SentFile {
  size: number;
  body: Readable;
  /** The SHA-256 of the bytes actually read; call after the transfer finished. */
  sha256(): string;
}

/** Opens `file` for sending and hashes what is read, so a file changed since it was hashed is caught. */
export async function sendFile(file: string, what: string, onBytes?: (n: number) => void): Promise<SentFile> {
  const { size } = await stat(file);
  const m = meter(what, undefined, onBytes);
  // pipeline, not pipe: a read error destroys the meter, so whoever sends the body sees it.
  pipeline(createReadStream(file), m.stream).catch(() => {});
  const body = m.stream;
  let digest: string | undefined;
  return { size, body, sha256: () => (digest ??= m.digest()) };
}
