import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import ipaddr from 'ipaddr.js';
import { StewardError } from '@steward/protocol';
import { CidrList } from './cidrs.js';

/** A webhook (or other outbound) destination the control plane will not connect to. */
export class DestinationRefusedError extends StewardError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('destination_refused', 422, message, details);
  }
}

/**
 * Which addresses the control plane may call out to on an operator's behalf (webhooks). Only
 * public unicast addresses by default: a URL pointing at loopback, a private, link-local
 * (cloud metadata at 169.254.169.254) or otherwise special range would let anyone who can add a
 * webhook probe the control plane's own network through the delivery log. Operators who need
 * an internal receiver list its range in the allowlist.
 */
export class DestinationPolicy {
  private readonly allowed: CidrList;

  constructor(allow: readonly string[] = []) {
    this.allowed = new CidrList(allow, 'webhookAllow');
  }

  /** Why `address` is refused, or null when it may be called. */
  refusal(address: string): string | null {
    if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
    if (this.allowed.has(address)) return null;
    const range = ipaddr.process(address).range();
    return range === 'unicast' ? null : `${address} is in a ${range} range`;
  }

  /**
   * Refuses a URL whose host is an address literal outside the policy. Names are checked when
   * they are resolved for each connection (see `lookup`), since what a name points at can change.
   */
  checkUrl(url: URL): void {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (!ipaddr.isValid(host)) {
      if (host === 'localhost' || host.endsWith('.localhost')) this.refuse(host, 'localhost is loopback');
      return;
    }
    const why = this.refusal(host);
    if (why) this.refuse(host, why);
  }

  /**
   * A `lookup` for sockets: resolves the name, refuses it when any of its addresses is outside
   * the policy (a name with one public and one private address is a rebinding attempt), and
   * hands the socket exactly the addresses it checked, so check and connect see the same address.
   */
  readonly lookup = (
    hostname: string,
    options: { family?: number | string; all?: boolean },
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    dnsLookup(hostname, { all: true, family: typeof options.family === 'number' ? options.family : 0 }, (err, addresses) => {
      if (err) return callback(err, '');
      const refused = addresses.map((a) => this.refusal(a.address)).find((why) => why !== null);
      if (refused) return callback(new DestinationRefusedError(`${hostname}: ${refused}`) as unknown as NodeJS.ErrnoException, '');
      if (options.all) return callback(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };

  private refuse(host: string, why: string): never {
    throw new DestinationRefusedError(`refused destination ${host}: ${why}; an admin can allow its range with --webhook-allow`, { host });
  }
}
