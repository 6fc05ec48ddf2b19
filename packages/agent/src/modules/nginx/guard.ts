import { isIP } from 'node:net';
import { HandlerFailure } from '../types.js';
import { FILE_PATH, INDEX_FILE, PROXY_URL, SERVER_NAME, SITE_NAME, URI_PATH } from './payload.js';

/** Characters that could end a directive, open or close a block, quote, comment or expand a variable. */
const FORBIDDEN = /[\s;{}"'`\\#$\x00-\x1f\x7f]/;

export type SlotKind = 'siteName' | 'serverName' | 'filePath' | 'uriPath' | 'proxyUrl' | 'indexFile' | 'ipAddress' | 'port';

const PATTERNS: Record<Exclude<SlotKind, 'ipAddress' | 'port'>, RegExp> = {
  siteName: new RegExp(SITE_NAME),
  serverName: new RegExp(SERVER_NAME),
  filePath: new RegExp(FILE_PATH),
  uriPath: new RegExp(URI_PATH),
  proxyUrl: new RegExp(PROXY_URL),
  indexFile: new RegExp(INDEX_FILE),
};

function refuse(field: string, why: string): never {
  throw new HandlerFailure('invalid_site', `${field}: ${why}`, { details: { issues: [{ field, rule: why }] } });
}

function describeChar(c: string): string {
  if (c === '\n') return 'a newline';
  if (/\s/.test(c)) return 'whitespace';
  if (c < ' ' || c === '\x7f') return 'a control character';
  return JSON.stringify(c);
}

/**
 * The last check before a value is written into the site file, independent of the payload
 * schema: a value that passes can only fill its own slot, never add a directive or block.
 */
export function slot(field: string, kind: SlotKind, value: string | number): string {
  if (kind === 'port') {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) refuse(field, 'must be a port number 1-65535');
    return String(value);
  }
  if (typeof value !== 'string' || value.length === 0) refuse(field, 'must be a non-empty string');
  const bad = FORBIDDEN.exec(value);
  if (bad) refuse(field, `contains ${describeChar(bad[0])}, which is not allowed in an nginx value`);
  if (kind === 'ipAddress') {
    if (!isIP(value)) refuse(field, 'must be an IPv4 or IPv6 address');
    return isIP(value) === 6 ? `[${value}]` : value;
  }
  if (!PATTERNS[kind].test(value)) refuse(field, `does not match ${PATTERNS[kind].source}`);
  if ((kind === 'filePath' || kind === 'uriPath') && value.split('/').includes('..')) refuse(field, 'must not contain a `..` segment');
  return value;
}
