import { SseParser, type SseMessage } from '@steward/client/browser';

/**
 * Reads a Server-Sent Events endpoint with fetch (`EventSource` cannot send the Authorization
 * header, and the token must not go into a URL), passing each message with parsed JSON data to
 * `onMessage`. Resolves when the server closes the stream; rejects on a failed answer or a
 * broken connection (not when `signal` aborted it).
 */
export async function readSse(token: string, url: string, signal: AbortSignal, onMessage: (m: SseMessage, data: unknown) => void): Promise<void> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal, cache: 'no-store' });
  if (!res.ok || !res.body) {
    const text = await res.text().catch(() => '');
    let message = `the stream answered ${res.status}`;
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
    } catch {
      // not an error envelope
    }
    throw Object.assign(new Error(message), { status: res.status });
  }
  const parser = new SseParser();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    for (const m of parser.push(value)) {
      let data: unknown;
      try {
        data = JSON.parse(m.data);
      } catch {
        continue;
      }
      onMessage(m, data);
    }
  }
}
