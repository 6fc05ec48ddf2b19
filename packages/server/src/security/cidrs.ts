import ipaddr from 'ipaddr.js';
import { ValidationError } from '@steward/protocol';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * Address ranges (`10.0.0.0/8`, `fd00::/8`, a bare address): devices admitted without an operator,
 * webhook destinations allowed despite being private.
 */
export class CidrList {
  private readonly ranges: Range[];

  constructor(
    cidrs: readonly string[],
    field = 'admitCidrs',
  ) {
    this.ranges = cidrs.map((c) => {
      try {
        if (c.includes('/')) return ipaddr.parseCIDR(c);
        const a = ipaddr.parse(c);
        return [a, a.kind() === 'ipv6' ? 128 : 32] as Range;
      } catch {
        throw new ValidationError(`${field}: ${JSON.stringify(c)} is not an address range like 10.0.0.0/8`, [{ field, rule: 'CIDR' }]);
      }
    });
  }

  has(address: string): boolean {
    if (!ipaddr.isValid(address)) return false;
    // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d: `process` makes it IPv4 again.
    const a = ipaddr.process(address);
    return this.ranges.some(([net, bits]) => net.kind() === a.kind() && a.match(net, bits));
  }
}
