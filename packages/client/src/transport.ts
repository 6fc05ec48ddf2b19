import type { Dispatcher } from 'undici';
import { ApiError } from './api-error.js';
import type { Transport as StreamTransport } from './artifact-transfer.js';
import { nodeRequester, type HttpAnswer, type Requester } from './node-http.js';
import { readSse, type SseMessage } from './sse.js';
import { loadUndici } from './undici.js';

export interface StewardClientOptions {
  /** e.g. `http://127.0.0.1:7070` (no `/api/v1`). */
  baseUrl: string;
  token: string;
  /** Defaults to node:http/https with timeouts that suit held requests and event streams (node-http.ts). */
  fetch?: typeof globalThis.fetch;
  /** PEM CA(s) to trust for an https control plane (its own CA, `tls/ca.crt` in its data dir), instead of the system's. */
  ca?: string | Buffer;
  /** Commands asked for per page when the client reads a whole job (`getJob`); the server's default when unset. */
  jobPageSize?: number;
}

/** Made on first use: most clients never ask for a CA of their own. */
let sharedRequester: Requester | undefined;

/**
 * undici's default waits at most 300 s for response headers, exactly the longest `?wait=`
 * the API allows; a held request would race that limit. Streamed transfers have no body timeout.
 * undici is imported only here, for artifact uploads and downloads.
 */
async function undiciAgent(ca?: string | Buffer): Promise<Dispatcher> {
  const { Agent } = await loadUndici();
  return new Agent({ headersTimeout: 330_000, bodyTimeout: 0, ...(ca ? { connect: { ca } } : {}) });
}
let sharedDispatcher: Promise<Dispatcher> | undefined;

export type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** Path outside `/api/v1` (health endpoints). */
  raw?: boolean;
}

/** An open Server-Sent Events answer: iterate `messages`; `close()` (or the caller's signal) ends it. */
export interface SseStream {
  messages: AsyncGenerator<SseMessage>;
  close(): void;
}

/**
 * The one way the client talks HTTP: the bearer token, JSON in and out, and every failure mapped
 * to an ApiError (`connection_failed` when no answer came, the server's code otherwise).
 */
export class HttpTransport {
  readonly baseUrl: string;
  readonly jobPageSize: number | undefined;
  private readonly token: string;
  private readonly fetchImpl: Requester;
  private readonly ca: string | Buffer | undefined;
  private dispatcher: Promise<Dispatcher> | undefined;

  constructor(opts: StewardClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.token = opts.token;
    this.jobPageSize = opts.jobPageSize;
    this.ca = opts.ca;
    // A caller's fetch answers a Response, which has every part of HttpAnswer the transport reads.
    this.fetchImpl = opts.fetch ? (opts.fetch as unknown as Requester) : opts.ca ? nodeRequester(opts.ca) : (sharedRequester ??= nodeRequester());
  }

  headers(): Record<string, string> {
    return { authorization: `Bearer ${this.token}` };
  }

  url(path: string, query?: Query): string {
    const u = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, String(v));
    }
    return u.toString();
  }

  /** One request; any HTTP answer resolves (`ok` says whether it was 2xx). */
  async send(method: string, path: string, opts: RequestOptions = {}): Promise<{ ok: boolean; status: number; body: unknown }> {
    const res = await this.exchange(method, path, opts, 'application/json');
    return { ok: res.ok, status: res.status, body: res.text === '' ? undefined : (parseJson(res.text) ?? res.text) };
  }

  /** A GET under `/api/v1` whose answer is text (a `?format=csv|text` listing), as it came; other than 2xx throws its ApiError. */
  async text(path: string, opts: RequestOptions & { accept: string }): Promise<string> {
    const res = await this.exchange('GET', path, opts, opts.accept);
    if (!res.ok) throw ApiError.fromEnvelope(res.status, parseJson(res.text) ?? res.text);
    return res.text;
  }

  private async exchange(method: string, path: string, opts: RequestOptions, accept: string): Promise<{ ok: boolean; status: number; text: string }> {
    const headers: Record<string, string> = { ...this.headers(), accept };
    let payload: string | undefined;
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(opts.body);
    }
    let res: HttpAnswer;
    try {
      res = await this.fetchImpl(this.url(opts.raw ? path : `/api/v1${path}`, opts.query), {
        method,
        headers,
        body: payload,
        signal: opts.signal,
      });
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      throw ApiError.connectionFailed(this.baseUrl, e);
    }
    // Read even when empty (204): a node:http answer frees its keep-alive socket only once read.
    return { ok: res.ok, status: res.status, text: await res.text() };
  }

  /** One request under `/api/v1`; an answer other than 2xx throws its ApiError. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<{ status: number; body: T }> {
    const res = await this.send(method, path, opts);
    if (!res.ok) throw ApiError.fromEnvelope(res.status, res.body);
    return { status: res.status, body: res.body as T };
  }

  /** `request`'s body alone, for the routes whose status says nothing more. */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    return (await this.request<T>(method, path, opts)).body;
  }

  /**
   * Opens an event stream and resolves once the server has answered. Ending it by `close()` or
   * by the caller's signal is how a caller says "enough": the messages then just stop.
   */
  async openSse(path: string, opts: { query?: Query; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<SseStream> {
    const own = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, own.signal]) : own.signal;
    let res: HttpAnswer;
    try {
      res = await this.fetchImpl(this.url(path, opts.query), {
        method: 'GET',
        headers: { ...this.headers(), accept: 'text/event-stream', ...opts.headers },
        signal,
      });
    } catch (e) {
      if (signal.aborted) throw e;
      throw ApiError.connectionFailed(this.baseUrl, e);
    }
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => '');
      throw ApiError.fromEnvelope(res.status, parseJson(text));
    }
    const body = res.body as unknown as AsyncIterable<Uint8Array>;
    async function* messages(): AsyncGenerator<SseMessage> {
      try {
        yield* readSse(body);
      } catch (e) {
        if (signal.aborted) return;
        throw e;
      } finally {
        own.abort();
      }
    }
    return { messages: messages(), close: () => own.abort() };
  }

  /** What the streaming artifact upload and download use (undici's request, nothing buffered). */
  streams(): StreamTransport {
    const dispatcher = () => (this.dispatcher ??= this.ca ? undiciAgent(this.ca) : (sharedDispatcher ??= undiciAgent()));
    return { baseUrl: this.baseUrl, headers: this.headers(), dispatcher };
  }
}

/** A path segment: ids and names may hold characters a URL path cannot. */
export function enc(id: string): string {
  return encodeURIComponent(id);
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
