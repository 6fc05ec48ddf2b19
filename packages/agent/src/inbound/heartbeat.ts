import type { Logger } from 'pino';
import type { MediastackHeartbeatSettings } from '../core/config-schema.js';
import { signatureOf } from './guard.js';
import type { MediastackStatus } from './types.js';
import { request } from '../link/http.js';

const DEFAULT_INTERVAL_MS = 60_000;
/** A controller that does not answer within this is skipped until the next interval. */
const POST_TIMEOUT_MS = 10_000;

export interface MediastackHeartbeat {
  stop(): void;
}

/** The URL without credentials or query, for logs. */
function shown(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

/**
 * POSTs MediaStack's node heartbeat `{node_id, time, status: {…}}` to the controller every
 * interval (the first one at once). A failure is logged and the next interval tries again;
 * nothing is queued, as each heartbeat supersedes the last. With `hmacSecret` the body is
 * signed the way the inbound API checks requests (X-Timestamp, X-Signature).
 */
export function startMediastackHeartbeat(o: {
  settings: MediastackHeartbeatSettings;
  nodeId: string;
  status: () => Promise<MediastackStatus>;
  hmacSecret?: string;
  log: Logger;
}): MediastackHeartbeat {
  const log = o.log.child({ component: 'mediastack-heartbeat' });
  const intervalMs = o.settings.intervalMs ?? DEFAULT_INTERVAL_MS;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let failing = false;

  const post = async () => {
    const time = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ node_id: o.settings.nodeId ?? o.nodeId, time, status: await o.status() });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (o.hmacSecret) {
      headers['x-timestamp'] = String(time);
      headers['x-signature'] = signatureOf(o.hmacSecret, String(time), body);
    }
    const res = await request(o.settings.url, { method: 'POST', headers, body, timeoutMs: POST_TIMEOUT_MS });
    res.discard();
    if (!res.ok) throw new Error(`the controller answered ${res.status}`);
  };

  const tick = async () => {
    try {
      await post();
      if (failing) log.info({ url: shown(o.settings.url) }, 'MediaStack heartbeat delivered again');
      failing = false;
    } catch (err) {
      failing = true;
      log.warn({ url: shown(o.settings.url), err: (err as Error).message }, `MediaStack heartbeat failed; retrying in ${intervalMs} ms`);
    }
    if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
  };

  void tick();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
