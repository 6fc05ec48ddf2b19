/** Requests started before the app ran, by path; each may be taken once, by the same token. */
const started = new Map<string, { token: string; response: Promise<Response>; at: number }>();
const FRESH_MS = 10_000;

export function startPrefetch(path: string, token: string): void {
  const response = fetch(path, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
  response.catch(() => {}); // an error is seen by whoever takes it; unused, it is nobody's
  started.set(path, { token, response, at: Date.now() });
}

export function takePrefetch(path: string, token: string): Promise<Response> | undefined {
  const p = started.get(path);
  started.delete(path);
  return p && p.token === token && Date.now() - p.at < FRESH_MS ? p.response : undefined;
}
