import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AGENT_ARTIFACTS_PATH } from '@steward/protocol';
import { HandlerFailure } from '../types.js';

async function readAll(res: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of res as AsyncIterable<Buffer>) text += chunk.toString('utf8');
  return text;
}

function serverError(what: string, status: number, text: string): HandlerFailure {
  let message = text.slice(0, 500);
  try {
    message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
  } catch {
    // not the error envelope: keep the text
  }
  return new HandlerFailure('artifact_store_error', `${what}: the control plane answered ${status}: ${message}`, { details: { status } });
}

/**
 * The control plane's artifact store as this node sees it: uploads and downloads stream with
 * the node credential, and a download is checked against its sha before anyone uses it.
 */
export class ArtifactTransfer {
  constructor(
    private readonly server: string,
    private readonly credential: string,
  ) {}

  private open(method: 'GET' | 'PUT', path: string, headers: Record<string, string>, signal: AbortSignal) {
    const url = new URL(this.server.replace(/\/+$/, '') + path);
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      method,
      headers: { ...headers, authorization: `Bearer ${this.credential}` },
      signal,
    });
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', (e) => reject(new HandlerFailure('control_plane_unreachable', `cannot reach the control plane at ${this.server}: ${e.message}`)));
    });
    return { req, response };
  }

  /** Streams `file` up; returns what the store answered (its sha must match `sha256`). */
  async upload(file: string, sha256: string, name: string, signal: AbortSignal): Promise<{ sha256: string; size: number }> {
    const { size } = await stat(file);
    const q = new URLSearchParams({ name, sha256 });
    const { req, response } = this.open('PUT', `${AGENT_ARTIFACTS_PATH}?${q}`, { 'content-type': 'application/octet-stream', 'content-length': String(size) }, signal);
    const sent = pipeline(createReadStream(file), req);
    const res = await response;
    const text = await readAll(res);
    await sent.catch(() => {});
    if (res.statusCode !== 200 && res.statusCode !== 201) throw serverError(`upload of ${name}`, res.statusCode ?? 0, text);
    const body = JSON.parse(text) as { sha256: string; size: number };
    if (body.sha256 !== sha256 || body.size !== size) {
      throw new HandlerFailure('artifact_store_error', `upload of ${name}: the store recorded ${body.sha256} (${body.size} bytes), expected ${sha256} (${size} bytes)`);
    }
    return body;
  }

  /**
   * Streams the artifact into `dest`. A body whose SHA-256 is not `sha256` (tampered with in
   * the store, or damaged on the way) is deleted and refused.
   */
  async download(sha256: string, dest: string, signal: AbortSignal): Promise<{ size: number }> {
    const { req, response } = this.open('GET', `${AGENT_ARTIFACTS_PATH}/${sha256}`, {}, signal);
    req.end();
    const res = await response;
    if (res.statusCode !== 200) throw serverError(`download of artifact ${sha256}`, res.statusCode ?? 0, await readAll(res));
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(res, meter, createWriteStream(dest, { mode: 0o600 }));
    } catch (e) {
      await rm(dest, { force: true });
      throw new HandlerFailure('download_failed', `download of artifact ${sha256} broke off: ${(e as Error).message}`);
    }
    const actual = hash.digest('hex');
    if (actual !== sha256) {
      await rm(dest, { force: true });
      throw new HandlerFailure('archive_checksum_mismatch', `artifact ${sha256} from the control plane has SHA-256 ${actual}: it was changed or damaged; refused`, {
        details: { expected: sha256, actual },
      });
    }
    return { size };
  }
}
