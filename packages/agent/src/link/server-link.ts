import { AGENT_ARTIFACTS_PATH } from '@steward/protocol';
import { AgentError } from '../core/errors.js';
import type { Identity } from './identity.js';
import { receiveFile, sendFile, TransferError } from './checksummed-file.js';
import { request, type HttpAnswer, type HttpRequestInit } from './http.js';
import type { ServerTrust } from './tls.js';

export type LinkErrorCode = 'not_enrolled' | 'control_plane_unreachable' | 'artifact_store_error';

/** The control plane could not be asked (no credential, no connection) or refused what was asked. */
export class LinkError extends AgentError<LinkErrorCode> {}

export interface ArtifactDownload {
  signal?: AbortSignal;
  maxBytes?: number;
  /** Told of each piece as it arrives (progress). */
  onBytes?: (n: number) => void;
}

export interface ArtifactUploadOptions {
  /** The artifact's name in the store. */
  name: string;
  /** The file's SHA-256 as computed before; the store and the sent bytes must both agree. */
  sha256: string;
  signal?: AbortSignal;
  /** Told of each piece as it is sent (progress). */
  onBytes?: (n: number) => void;
}

/** The error envelope's message, or the start of the body when it is not one. */
async function answerText(res: HttpAnswer): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    return (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text.slice(0, 500);
  } catch {
    return text.slice(0, 500);
  }
}

/**
 * This node's one authenticated way to the control plane over HTTP: it holds the identity
 * (read once at start), signs requests with the node credential, and moves artifacts with their
 * SHA-256 checked. Modules get it as `rt.link`; none reads identity.json itself.
 */
export class ServerLink {
  private readonly at: () => string;
  private readonly trust: ServerTrust | undefined;

  constructor(
    /** The control plane's URL, or where to read it: the server the WebSocket is on (ServerList). */
    server: string | (() => string),
    /** Null before enrollment: every authenticated call then fails with `not_enrolled`. */
    private id: Identity | null,
    /** The pinned CA (and client certificate): the only roots an https control plane is checked against. */
    trust?: ServerTrust,
  ) {
    const fixed = typeof server === 'string' ? server.replace(/\/+$/, '') : null;
    this.at = fixed !== null ? () => fixed : server as () => string;
    this.trust = trust;
  }

  /** The control plane asked now; with a server list, the one the agent is connected to (or dialling). */
  get server(): string {
    return this.at();
  }

  get enrolled(): boolean {
    return this.id !== null;
  }

  get identity(): Identity {
    if (!this.id) throw new LinkError('not_enrolled', 'this agent has no node credential, so it cannot reach the control plane');
    return this.id;
  }

  /** A rotated credential, used for every request from now on. */
  setCredential(credential: string): void {
    if (this.id) this.id = { ...this.id, credential };
  }

  /** Who this node is, for records it writes (empty before enrollment). */
  get node(): { id: string; name: string } {
    return { id: this.id?.nodeId ?? '', name: this.id?.name ?? '' };
  }

  url(path: string): string {
    return this.server + path;
  }

  /** A request with the node credential (over node:http, link/http.ts); an unreachable control plane is `control_plane_unreachable`. */
  async request(path: string, init: Omit<HttpRequestInit, 'tls'> = {}): Promise<HttpAnswer> {
    const headers = { ...init.headers, authorization: `Bearer ${this.identity.credential}` };
    try {
      return await request(this.url(path), { ...init, headers, ...(this.trust ? { tls: this.trust } : {}) });
    } catch (e) {
      if (init.signal?.aborted) throw e;
      throw new LinkError('control_plane_unreachable', `cannot reach the control plane at ${this.server}: ${(e as Error).message}`);
    }
  }

  private async refused(what: string, res: HttpAnswer): Promise<LinkError> {
    return new LinkError('artifact_store_error', `${what}: the control plane answered ${res.status}: ${await answerText(res)}`, { status: res.status });
  }

  /**
   * Streams artifact `sha256` from the store into `dest`. Bytes that do not hash to `sha256`
   * (changed in the store, damaged on the way) never appear under `dest`.
   */
  async downloadArtifact(sha256: string, dest: string, o: ArtifactDownload = {}): Promise<{ size: number }> {
    const what = `artifact ${sha256}`;
    const res = await this.request(`${AGENT_ARTIFACTS_PATH}/${sha256}`, o.signal ? { signal: o.signal } : {});
    if (res.status !== 200) throw await this.refused(`download of ${what}`, res);
    const { size } = await receiveFile(res.body, dest, { what: `${what} from the control plane`, sha256, maxBytes: o.maxBytes, signal: o.signal, onBytes: o.onBytes });
    return { size };
  }

  /** Streams `file` into the store; the store must record exactly the bytes that were hashed before. */
  async uploadArtifact(file: string, o: ArtifactUploadOptions): Promise<{ sha256: string; size: number }> {
    const sent = await sendFile(file, o.name, o.onBytes);
    const q = new URLSearchParams({ name: o.name, sha256: o.sha256 });
    let res: HttpAnswer;
    try {
      res = await this.request(`${AGENT_ARTIFACTS_PATH}?${q}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(sent.size) },
        body: sent.body,
        ...(o.signal ? { signal: o.signal } : {}),
      });
    } finally {
      sent.body.destroy();
    }
    if (res.status !== 200 && res.status !== 201) throw await this.refused(`upload of ${o.name}`, res);
    // Read in full before the checks below: the answer is complete once the body has ended.
    const body = (await res.json()) as { sha256: string; size: number };
    if (sent.sha256() !== o.sha256) {
      throw new TransferError('checksum_mismatch', `${o.name} changed while it was uploaded: sent SHA-256 ${sent.sha256()}, expected ${o.sha256}`, {
        expected: o.sha256,
        actual: sent.sha256(),
      });
    }
    if (body.sha256 !== o.sha256 || body.size !== sent.size) {
      throw new LinkError('artifact_store_error', `upload of ${o.name}: the store recorded ${body.sha256} (${body.size} bytes), expected ${o.sha256} (${sent.size} bytes)`);
    }
    return body;
  }
}

/** URLs may carry credentials in the query or user info; never log them. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(url)';
  }
}

/**
 * Downloads from a URL outside the control plane (no credential is sent) into `dest`, through
 * the same checks as an artifact: hashed while streaming, verified, renamed into place.
 */
export async function downloadUrl(url: string, dest: string, o: ArtifactDownload & { sha256?: string } = {}): Promise<{ sha256: string; size: number }> {
  const what = redactUrl(url);
  let res: HttpAnswer;
  try {
    res = await request(url, o.signal ? { signal: o.signal } : {});
  } catch (e) {
    throw new TransferError('download_failed', `download of ${what} failed: ${(e as Error).message}`);
  }
  if (!res.ok) {
    res.discard();
    throw new TransferError('download_failed', `download of ${what} failed: HTTP ${res.status}`, { status: res.status });
  }
  return receiveFile(res.body, dest, { what, sha256: o.sha256, maxBytes: o.maxBytes, signal: o.signal, onBytes: o.onBytes });
}
