import { Buffer } from 'node:buffer';

/** The longest start of `text` that is at most `maxBytes` of UTF-8, never splitting a character. */
export function cutUtf8(text: string, maxBytes: number): string {
  if (maxBytes <= 0) return '';
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return text;
  let end = maxBytes;
  // Back off over continuation bytes (10xxxxxx) to the start of the character cut in two.
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}

/** `text` in pieces of at most `maxBytes` UTF-8 bytes each, characters kept whole. */
export function splitUtf8(text: string, maxBytes: number): string[] {
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return [text];
  const out: string[] = [];
  let rest = text;
  while (rest.length > 0) {
    // A piece holds at least one character, even one longer than maxBytes (never with the sizes used).
    const piece = cutUtf8(rest, maxBytes) || rest.slice(0, 1);
    out.push(piece);
    rest = rest.slice(piece.length);
  }
  return out;
}
