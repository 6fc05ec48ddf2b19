const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * Time-ordered ids (`cmd_0ka1b…`): the first 9 characters encode milliseconds so ids
 * sort by creation, the remaining 12 are random so replicas never collide.
 */
export function newId(prefix: string): string {
  let t = Date.now();
  let time = '';
  for (let i = 0; i < 9; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  // Web Crypto, not node:crypto, so ids can be made wherever the protocol package loads.
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(12));
  let rand = '';
  for (const b of bytes) rand += ALPHABET[b % 32];
  return `${prefix}_${time}${rand}`;
}
