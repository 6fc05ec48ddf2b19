import { createHmac, timingSafeEqual } from 'node:crypto';

/** `sha256=<hex>` of HMAC-SHA256(secret, `${timestamp}.${body}`): what `x-steward-signature` carries. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Checks a received webhook: the signature matches (constant-time) and, when `toleranceMs` is
 * given, the timestamp (milliseconds) is within that much of `now`, so a captured request
 * cannot be replayed later.
 */
export function verifyWebhook(
  secret: string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  body: string,
  opts: { toleranceMs?: number; now?: number } = {},
): boolean {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp || !/^\d+$/.test(timestamp)) return false;
  if (opts.toleranceMs !== undefined && Math.abs((opts.now ?? Date.now()) - Number(timestamp)) > opts.toleranceMs) return false;
  const want = Buffer.from(signWebhook(secret, timestamp, body));
  const got = Buffer.from(signature);
  return want.length === got.length && timingSafeEqual(want, got);
}
