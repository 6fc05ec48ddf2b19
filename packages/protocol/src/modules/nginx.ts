import { Type, type Static } from '@sinclair/typebox';

/*
 * Every value that reaches the site file has a pattern with no whitespace, `;`, braces, quotes,
 * backslash, `#` or `$`, so none can end a directive, open a block, start a comment or expand a
 * variable. guard.ts checks the same again at render time.
 */
export const SITE_NAME = '^[a-z0-9][a-z0-9_.-]{0,62}$';
export const SERVER_NAME = '^(_|(\\*\\.)?[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*(\\.\\*)?)$';
export const FILE_PATH = '^/[A-Za-z0-9._~@+,=/-]*$';
export const URI_PATH = '^/[A-Za-z0-9._~@+,=:%/-]*$';
export const PROXY_URL = '^https?://(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?(/[A-Za-z0-9._~@+,=:%/-]*)?$';
export const INDEX_FILE = '^[A-Za-z0-9._-]+$';
export const IP_ADDRESS = '^[0-9A-Fa-f:.]+$';
const CERT_PEM = '^\\s*-----BEGIN CERTIFICATE-----[\\s\\S]+-----END CERTIFICATE-----\\s*$';
const KEY_PEM = '^\\s*-----BEGIN ([A-Z]+ )?PRIVATE KEY-----[\\s\\S]+-----END ([A-Z]+ )?PRIVATE KEY-----\\s*$';

const obj = <T extends Parameters<typeof Type.Object>[0]>(props: T, description?: string) =>
  Type.Object(props, { additionalProperties: false, ...(description ? { description } : {}) });

export const SiteName = Type.String({ pattern: SITE_NAME, description: 'site id: lowercase letters, digits, `-`, `_`, `.`; names the file <sitesDir>/<name>.conf' });

export const Location = obj(
  {
    path: Type.String({ pattern: URI_PATH, maxLength: 1024, description: 'URI prefix, e.g. /static/' }),
    root: Type.Optional(Type.String({ pattern: FILE_PATH, maxLength: 1024, description: 'absolute directory' })),
    proxyPass: Type.Optional(Type.String({ pattern: PROXY_URL, maxLength: 1024, description: 'http(s)://host[:port][/path]' })),
  },
  'a prefix location served from a directory (root) or proxied (proxyPass); exactly one of the two',
);
export type Location = Static<typeof Location>;

export const SiteSpec = obj({
  name: SiteName,
  serverNames: Type.Array(Type.String({ pattern: SERVER_NAME, maxLength: 253 }), { minItems: 1, maxItems: 100, description: 'host names; `*.example.com`, `example.*` and `_` allowed' }),
  listen: obj({
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    ssl: Type.Optional(Type.Boolean({ description: 'TLS on this port; needs tls' })),
    address: Type.Optional(Type.String({ pattern: IP_ADDRESS, maxLength: 45, description: 'IPv4 or IPv6 address to bind (default all)' })),
  }),
  root: Type.Optional(Type.String({ pattern: FILE_PATH, maxLength: 1024, description: 'absolute document root' })),
  index: Type.Optional(
    Type.Union([Type.String({ pattern: INDEX_FILE, maxLength: 255 }), Type.Array(Type.String({ pattern: INDEX_FILE, maxLength: 255 }), { minItems: 1, maxItems: 20 })], {
      description: 'index file name(s)',
    }),
  ),
  locations: Type.Optional(Type.Array(Location, { maxItems: 200 })),
  tls: Type.Optional(
    obj({
      certPem: Type.String({ pattern: CERT_PEM, maxLength: 1024 * 1024, description: 'certificate chain, PEM' }),
      keyPem: Type.String({ pattern: KEY_PEM, maxLength: 1024 * 1024, description: 'private key, PEM; written 0600, never returned', writeOnly: true }),
    }),
  ),
});
export type SiteSpec = Static<typeof SiteSpec>;

export const NginxSiteRemovePayload = Type.Object({ name: SiteName }, { additionalProperties: false });
