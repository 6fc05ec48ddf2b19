import { Pool } from 'undici';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status}: ${body.slice(0, 500)}`);
  }
}

/** A keep-alive JSON client for the control plane's REST API (undici Pool). */
export class Api {
  private readonly pool: Pool;

  constructor(
    readonly url: string,
    private readonly token: string | null,
    connections = 4,
  ) {
    this.pool = new Pool(url, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      // Long polls (`?wait=`) and big job answers at 10k nodes.
      headersTimeout: 310_000,
      bodyTimeout: 310_000,
    });
  }

  async call<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, expect: number[] = [200, 201]): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.pool.request({
      method,
      path,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (!expect.includes(res.statusCode)) throw new ApiError(res.statusCode, text, `${method} ${path}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
