import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { Artifact } from '@steward/protocol';
import type { Dispatcher } from 'undici';
import { ApiError } from './api-error.js';
import { loadUndici } from './undici.js';

export interface ArtifactUpload {
  artifact: Artifact;
  /** False when the store already had these bytes (de-duplicated). */
  created: boolean;
}

export interface UploadOptions {
  name?: string;
  /** The server refuses the upload (422, nothing stored) unless the body has this SHA-256. */
  sha256?: string;
}

export interface Transport {
  baseUrl: string;
  headers: Record<string, string>;
  /** undici's, made (and undici imported) on the first transfer: see transport.ts. */
  dispatcher: () => Promise<Dispatcher>;
}

async function request(url: string | URL, opts: Omit<Dispatcher.RequestOptions, 'origin' | 'path'> & { dispatcher: Dispatcher }): Promise<Dispatcher.ResponseData> {
  const undici = await loadUndici();
  return undici.request(url, opts);
}

async function failure(statusCode: number, body: Readable & { text(): Promise<string> }): Promise<ApiError> {
  const text = await body.text().catch(() => '');
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: reported as text
  }
  return ApiError.fromEnvelope(statusCode, parsed);
}

/** PUTs a stream (with its length when known) to an artifacts endpoint; nothing is buffered. */
export async function uploadStream(t: Transport, path: string, body: Readable, length: number | undefined, o: UploadOptions = {}): Promise<ArtifactUpload> {
  const u = new URL(t.baseUrl + path);
  if (o.name) u.searchParams.set('name', o.name);
  if (o.sha256) u.searchParams.set('sha256', o.sha256);
  const headers: Record<string, string> = { ...t.headers, 'content-type': 'application/octet-stream', accept: 'application/json' };
  if (length !== undefined) headers['content-length'] = String(length);
  let res;
  try {
    res = await request(u, { method: 'PUT', headers, body, dispatcher: await t.dispatcher() });
  } catch (e) {
    throw ApiError.connectionFailed(t.baseUrl, e);
  }
  if (res.statusCode >= 300) throw await failure(res.statusCode, res.body);
  return { artifact: (await res.body.json()) as Artifact, created: res.statusCode === 201 };
}

export async function uploadFile(t: Transport, path: string, file: string, o: UploadOptions = {}): Promise<ArtifactUpload> {
  const { size } = await stat(file);
  return uploadStream(t, path, createReadStream(file), size, o);
}

/** GETs an artifact as a stream; the caller must consume or destroy it. */
export async function downloadStream(t: Transport, path: string): Promise<{ size: number; etag: string | undefined; body: Readable }> {
  let res;
  try {
    res = await request(t.baseUrl + path, { method: 'GET', headers: t.headers, dispatcher: await t.dispatcher() });
  } catch (e) {
    throw ApiError.connectionFailed(t.baseUrl, e);
  }
  if (res.statusCode !== 200) throw await failure(res.statusCode, res.body);
  const etag = res.headers.etag;
  return { size: Number(res.headers['content-length'] ?? NaN), etag: typeof etag === 'string' ? etag : undefined, body: res.body };
}

/**
 * Downloads into `dest` through a temp file beside it, checking the bytes against `sha256`
 * before the rename: a corrupt or truncated download never appears under `dest`.
 */
export async function downloadToFile(t: Transport, path: string, sha256: string, dest: string, onBytes?: (n: number) => void): Promise<{ size: number }> {
  const { body } = await downloadStream(t, path);
  const tmp = `${dest}.${process.pid}.${Date.now()}.part`;
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      onBytes?.(chunk.length);
      done(null, chunk);
    },
  });
  try {
    await pipeline(body, meter, createWriteStream(tmp, { mode: 0o600 }));
    const actual = hash.digest('hex');
    if (actual !== sha256) throw new ApiError(0, 'checksum_mismatch', `downloaded bytes have SHA-256 ${actual}, expected ${sha256}`);
    await rename(tmp, dest);
    return { size };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
