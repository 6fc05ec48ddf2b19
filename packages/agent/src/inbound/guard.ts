import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { ValidationError } from '@steward/protocol';
import { AgentError } from '../core/errors.js';

/** A signed request's timestamp may be this far from the agent's clock, either way. */
export const SIGNATURE_WINDOW_S = 300;

export type RefusalCode = 'ip_not_allowed' | 'unauthorized' | 'signature_required' | 'bad_signature' | 'stale_timestamp';

/** Why the inbound API turned a caller away; `status` is the HTTP answer. */
export class InboundRefusal extends AgentError<RefusalCode> {
  constructor(
    code: RefusalCode,
    message: string,
    readonly status: 401 | 403,
  ) {
    super(code, message);
  }
}

/** `::ffff:10.0.0.1` (an IPv4 caller on a dual-stack socket) is checked as 10.0.0.1. */
function plainAddress(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/**
 * The addresses allowed to call, from `inbound.allowFrom` (addresses and CIDRs); null allows all.
 * A bad entry stops the agent at start with the entry named.
 */
export function allowList(entries: readonly string[] | undefined): ((ip: string) => boolean) | null {
  if (!entries) return null;
  const list = new BlockList();
  entries.forEach((entry, i) => {
    const [addr = '', bits] = entry.split('/');
    const family = isIP(addr);
    const prefix = bits === undefined ? (family === 4 ? 32 : 128) : Number(bits);
    if (!family || !/^\d+$/.test(bits ?? '0') || prefix > (family === 4 ? 32 : 128)) {
      throw new ValidationError(`inbound.allowFrom[${i}]: ${JSON.stringify(entry)} is not an address or CIDR (10.0.0.0/8, 2001:db8::/32)`, [
        { field: `inbound.allowFrom[${i}]`, rule: 'IPv4 or IPv6 address, optionally /prefix' },
      ]);
    }
    list.addSubnet(addr, prefix, family === 4 ? 'ipv4' : 'ipv6');
  });
  return (ip) => {
    const plain = plainAddress(ip);
    const family = isIP(plain);
    return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/** Compares digests, so neither the length nor the content of the key leaks through timing. */
export function sameKey(given: string | undefined, key: string): boolean {
  if (given === undefined) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(key));
}

/** Hex HMAC-SHA256 of the timestamp (Unix seconds, as sent) followed by the raw body. */
export function signatureOf(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(timestamp).update(body).digest('hex');
}

/** Checks X-Timestamp and X-Signature of a request; throws the refusal. */
export function checkSignature(secret: string, timestamp: string | undefined, signature: string | undefined, body: string, nowMs: number): void {
  if (!timestamp || !signature) {
    throw new InboundRefusal('signature_required', 'this node requires signed requests: send X-Timestamp (Unix seconds) and X-Signature', 401);
  }
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowMs / 1000 - Number(timestamp)) > SIGNATURE_WINDOW_S) {
    throw new InboundRefusal('stale_timestamp', `X-Timestamp must be Unix seconds within ${SIGNATURE_WINDOW_S} s of the node's clock`, 401);
  }
  const given = Buffer.from(signature.replace(/^sha256=/, '').toLowerCase());
  const expected = Buffer.from(signatureOf(secret, timestamp, body));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new InboundRefusal('bad_signature', 'X-Signature does not match: hex HMAC-SHA256 of X-Timestamp followed by the raw body', 401);
  }
}
