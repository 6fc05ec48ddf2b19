import { BlockList, isIP } from 'node:net';
import { ValidationError } from '@steward/protocol';

/** Address ranges (`10.0.0.0/8`, `::1/128`, a bare address) whose devices are admitted without an operator. */
export class CidrList {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(cidrs: readonly string[]) {
    for (const c of cidrs) {
      const [addr = '', bits] = c.split('/');
      const family = isIP(addr);
      const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
      if (!family || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) {
        throw new ValidationError(`admit CIDR ${JSON.stringify(c)}: not an address range like 10.0.0.0/8`, [{ field: 'admitCidrs', rule: 'CIDR' }]);
      }
      this.list.addSubnet(addr, prefix, family === 6 ? 'ipv6' : 'ipv4');
    }
    this.size = cidrs.length;
  }

  has(address: string): boolean {
    // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d.
    const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    const family = isIP(plain);
    if (!family) return false;
    return this.list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
  }
}
