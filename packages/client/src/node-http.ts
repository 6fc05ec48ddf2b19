// The client's JSON requests and event streams over node:http/https. Loading undici costs a
// short CLI call (`steward nodes ls`) tens of milliseconds before its first byte is sent
// (issue 17); node:http is already in the binary. undici stays for the streamed artifact
// transfers (artifact-transfer.ts), loaded when one is made.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** What the transport reads of an answer: the part of a fetch Response it uses. */
export interface HttpAnswer {
  ok: boolean;
  status: number;
  text(): Promise<string>;
  body: AsyncIterable<Uint8Array> | null;
}

export interface HttpInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** A fetch-shaped function: the transport takes either this or a caller's own fetch. */
export type Requester = (url: string, init: HttpInit) => Promise<HttpAnswer>;

/**
 * The longest wait for response headers. A held request (`?wait=`, at most 300 s) answers just
 * before that; event streams are quiet between pings, so there is no limit once headers came.
 */
const HEADERS_TIMEOUT_MS = 330_000;

export class HeadersTimeoutError extends Error {
  readonly code = 'HEADERS_TIMEOUT';
  constructor(url: string) {
    super(`no response headers from ${url} within ${HEADERS_TIMEOUT_MS / 1000} s`);
  }
}

function answerOf(res: IncomingMessage): HttpAnswer {
  const status = res.statusCode ?? 0;
  return {
    ok: status >= 200 && status < 300,
    status,
    body: res,
    async text() {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

/**
 * A Requester with its own keep-alive agents (a CLI call's few requests share one connection;
 * idle sockets are unreferenced, so they never hold a process open). `ca` replaces the system's
 * trusted CAs for https.
 */
export function nodeRequester(ca?: string | Buffer): Requester {
  const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true, ...(ca ? { ca } : {}) }) };
  return (url, init) =>
    new Promise<HttpAnswer>((resolve, reject) => {
      const u = new URL(url);
      const https = u.protocol === 'https:';
      const headers = { ...init.headers, ...(init.body !== undefined ? { 'content-length': String(Buffer.byteLength(init.body)) } : {}) };
      const options = { method: init.method, headers, signal: init.signal };
      let timer: NodeJS.Timeout | undefined;
      const onAnswer = (res: IncomingMessage) => {
        clearTimeout(timer);
        resolve(answerOf(res));
      };
      const req = https ? httpsRequest(u, { ...options, agent: agents.https }, onAnswer) : httpRequest(u, { ...options, agent: agents.http }, onAnswer);
      timer = setTimeout(() => req.destroy(new HeadersTimeoutError(url)), HEADERS_TIMEOUT_MS);
      req.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      req.end(init.body);
    });
}
