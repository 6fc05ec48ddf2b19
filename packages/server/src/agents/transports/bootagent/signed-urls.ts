import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** How long a download URL handed out in a job works: the device fetches it when it runs the job. */
export const SIGNED_URL_TTL_MS = 30 * 60_000;

export interface Grant {
  nodeId: string;
  sha256: string;
  expires: number;
}

/**
 * A BootAgent has no Steward credential, so the artifact URL in its install job is the
 * credential: it names the node, the artifact and an expiry, signed with a key that lives only
 * in this process's memory. It opens that one artifact for that one node until it expires; a
 * job offered again carries a fresh URL, so a restart of the control plane (new key) costs a
 * failed download and a retry at most.
 */
export class UrlSigner {
  private readonly key = randomBytes(32);

  constructor(private readonly ttlMs = SIGNED_URL_TTL_MS) {}

  /** The query string (without `?`) for a grant starting now. */
  sign(nodeId: string, sha256: string, now: number): string {
    const expires = now + this.ttlMs;
    const q = new URLSearchParams({ node: nodeId, expires: String(expires), sig: this.mac({ nodeId, sha256, expires }) });
    return q.toString();
  }

  /** The grant when the query carries a valid, unexpired signature for this artifact; else why not. */
  verify(sha256: string, query: Record<string, unknown>, now: number): { grant: Grant } | { refused: string } {
    const { node, expires, sig } = query;
    if (typeof node !== 'string' || typeof expires !== 'string' || typeof sig !== 'string') return { refused: 'the URL carries no signature (node, expires, sig)' };
    const exp = Number(expires);
    if (!Number.isSafeInteger(exp)) return { refused: 'expires is not a time' };
    const grant = { nodeId: node, sha256, expires: exp };
    const want = Buffer.from(this.mac(grant), 'hex');
    const got = /^[0-9a-f]{64}$/.test(sig) ? Buffer.from(sig, 'hex') : Buffer.alloc(0);
    if (got.length !== want.length || !timingSafeEqual(got, want)) return { refused: 'the signature does not match' };
    if (exp <= now) return { refused: 'the URL expired; the job is offered again with a fresh one' };
    return { grant };
  }

  private mac(g: Grant): string {
    return createHmac('sha256', this.key).update(`${g.nodeId}\n${g.sha256}\n${g.expires}`).digest('hex');
  }
}
