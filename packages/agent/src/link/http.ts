// Every HTTP request the agent makes (enrollment, artifact transfers, downloads from a URL,
// health checks, monitor probes, the MediaStack heartbeat) goes through node:http/https here,
// never through fetch. Node's fetch (and its Response and Headers) is a bundled copy of undici
// loaded on first use: ~10 MiB of RSS for its JavaScript alone and ~20 MiB once a request
// compiled its WebAssembly HTTP parser, and it stays for the process's life. An agent that
// enrolled once or installed one service held that for ever (issue 17: agent idle ≤ 60 MiB).
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';

/** TLS of a request to the control plane: its pinned CA (the only root), the client certificate. */
export interface RequestTls {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
}

export interface HttpRequestInit {
  method?: string;
  headers?: Record<string, string>;
  /** A string or bytes, or a stream (sent chunked unless a content-length header is given). */
  body?: string | Buffer | Readable;
  signal?: AbortSignal;
  /** The whole request (connect, headers, body) must end within this; the error says so. */
  timeoutMs?: number;
  tls?: RequestTls;
  /** 'follow' (fetch's default): up to 20 redirects of a GET or HEAD; 'manual': the 3xx is the answer. */
  redirect?: 'follow' | 'manual';
}

/** The answer: status, headers, and the body as a node stream (read it, or call discard()). */
export interface HttpAnswer {
  status: number;
  ok: boolean;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  /** The whole body as text; one longer than `maxBytes` (default 1 MiB) is cut off with an error. */
  text(maxBytes?: number): Promise<string>;
  json(maxBytes?: number): Promise<unknown>;
  /** Drops the body without reading it (the socket is freed). */
  discard(): void;
}

export class HttpTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

const MAX_REDIRECTS = 20;
/**
 * Bodies the agent reads whole are small JSON answers (enrollment, an upload's checksum, an error
 * message); a server sending more, by mistake or on purpose, must not fill the agent's memory.
 * Large transfers read `body` as a stream.
 */
export const MAX_TEXT_BYTES = 1024 * 1024;

export class HttpBodyTooLargeError extends Error {
  readonly code = 'EBODYTOOLARGE';
}

function answerOf(res: IncomingMessage): HttpAnswer {
  const status = res.statusCode ?? 0;
  const text = async (maxBytes = MAX_TEXT_BYTES) => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of res) {
      size += (c as Buffer).length;
      if (size > maxBytes) {
        res.destroy();
        throw new HttpBodyTooLargeError(`the answer's body is over ${maxBytes} bytes`);
      }
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  };
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: res.headers,
    body: res,
    text,
    json: async (maxBytes?: number) => JSON.parse(await text(maxBytes)) as unknown,
    discard: () => void res.destroy(),
  };
}

function once(url: URL, init: HttpRequestInit, deadline: number | undefined): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const https = url.protocol === 'https:';
    if (!https && url.protocol !== 'http:') return reject(new TypeError(`unsupported URL scheme ${url.protocol} (http: or https: only)`));
    const t = init.tls ?? {};
    const options = {
      method: init.method ?? 'GET',
      headers: init.headers ?? {},
      ...(init.signal ? { signal: init.signal } : {}),
      ...(https ? { ...(t.ca ? { ca: t.ca } : {}), ...(t.cert && t.key ? { cert: t.cert, key: t.key } : {}), rejectUnauthorized: t.rejectUnauthorized ?? true } : {}),
    };
    const req = (https ? httpsRequest : httpRequest)(url, options, resolve);
    let timer: NodeJS.Timeout | undefined;
    if (deadline !== undefined) {
      timer = setTimeout(() => req.destroy(new HttpTimeoutError(`timeout: ${url.host} did not answer within ${init.timeoutMs} ms`)), Math.max(0, deadline - Date.now()));
      req.once('response', (res) => res.once('close', () => clearTimeout(timer)));
    }
    // on, not once: a late error (after the answer came) must not be an uncaught one.
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    const body = init.body;
    if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else {
      body.once('error', (e) => req.destroy(e));
      body.pipe(req);
    }
  });
}

/**
 * One request over node:http/https. Errors are node's own (`code` ECONNREFUSED, CERT_HAS_EXPIRED…),
 * an aborted `signal` rejects with an AbortError, `timeoutMs` with an HttpTimeoutError.
 */
export async function request(url: string | URL, init: HttpRequestInit = {}): Promise<HttpAnswer> {
  let u = new URL(url);
  const deadline = init.timeoutMs === undefined ? undefined : Date.now() + init.timeoutMs;
  const method = (init.method ?? 'GET').toUpperCase();
  for (let hops = 0; ; hops++) {
    const res = await once(u, init, deadline);
    const location = res.headers.location;
    const redirected = res.statusCode !== undefined && [301, 302, 303, 307, 308].includes(res.statusCode) && location !== undefined;
    if (!redirected || init.redirect === 'manual' || (method !== 'GET' && method !== 'HEAD')) return answerOf(res);
    res.destroy();
    if (hops >= MAX_REDIRECTS) throw new TypeError(`${u.host}: more than ${MAX_REDIRECTS} redirects`);
    const next = new URL(location, u);
    // As fetch does: credentials set for one origin are not sent to another.
    if (next.origin !== u.origin && init.headers) {
      const { authorization: _a, cookie: _c, ...rest } = Object.fromEntries(Object.entries(init.headers).map(([k, v]) => [k.toLowerCase(), v]));
      init = { ...init, headers: rest };
    }
    u = next;
  }
}
