import { join } from 'node:path';
import { HandlerFailure } from '../types.js';
import { slot } from './guard.js';
import type { SiteSpec } from './payload.js';

export const MANAGED_HEADER = '# Managed by Steward (nginx.site.apply).';

export interface SitePaths {
  conf: string;
  cert: string;
  key: string;
}

export function sitePaths(dirs: { sitesDir: string; tlsDir: string }, name: string): SitePaths {
  const n = slot('name', 'siteName', name);
  return { conf: join(dirs.sitesDir, `${n}.conf`), cert: join(dirs.tlsDir, `${n}.crt`), key: join(dirs.tlsDir, `${n}.key`) };
}

/**
 * The site file for a spec. Each value goes through `slot`, which refuses anything that could
 * leave its place; the template's own text is the only source of `;`, braces and `$`.
 */
export function renderSite(spec: SiteSpec, paths: SitePaths): string {
  const ssl = spec.listen.ssl === true;
  if (ssl && !spec.tls) throw new HandlerFailure('invalid_site', 'listen.ssl: needs tls (certPem and keyPem)', { details: { issues: [{ field: 'listen.ssl', rule: 'needs tls' }] } });
  if (spec.tls && !ssl) throw new HandlerFailure('invalid_site', 'tls: given but listen.ssl is not true', { details: { issues: [{ field: 'tls', rule: 'needs listen.ssl' }] } });
  const name = slot('name', 'siteName', spec.name);
  const port = slot('listen.port', 'port', spec.listen.port);
  const addr = spec.listen.address === undefined ? '' : `${slot('listen.address', 'ipAddress', spec.listen.address)}:`;
  const lines = [
    MANAGED_HEADER,
    `# site: ${name}`,
    'server {',
    `    listen ${addr}${port}${ssl ? ' ssl' : ''};`,
    `    server_name ${spec.serverNames.map((s, i) => slot(`serverNames[${i}]`, 'serverName', s)).join(' ')};`,
  ];
  if (ssl) {
    lines.push(`    ssl_certificate ${slot('nginx.tlsDir', 'filePath', paths.cert)};`);
    lines.push(`    ssl_certificate_key ${slot('nginx.tlsDir', 'filePath', paths.key)};`);
  }
  if (spec.root !== undefined) lines.push(`    root ${slot('root', 'filePath', spec.root)};`);
  if (spec.index !== undefined) {
    const names = Array.isArray(spec.index) ? spec.index : [spec.index];
    lines.push(`    index ${names.map((s, i) => slot(Array.isArray(spec.index) ? `index[${i}]` : 'index', 'indexFile', s)).join(' ')};`);
  }
  (spec.locations ?? []).forEach((loc, i) => {
    const field = `locations[${i}]`;
    if ((loc.root === undefined) === (loc.proxyPass === undefined)) {
      throw new HandlerFailure('invalid_site', `${field}: give exactly one of root and proxyPass`, { details: { issues: [{ field, rule: 'exactly one of root, proxyPass' }] } });
    }
    lines.push('', `    location ${slot(`${field}.path`, 'uriPath', loc.path)} {`);
    if (loc.root !== undefined) {
      lines.push(`        root ${slot(`${field}.root`, 'filePath', loc.root)};`);
    } else {
      lines.push(
        `        proxy_pass ${slot(`${field}.proxyPass`, 'proxyUrl', loc.proxyPass!)};`,
        '        proxy_set_header Host $host;',
        '        proxy_set_header X-Real-IP $remote_addr;',
        '        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
        '        proxy_set_header X-Forwarded-Proto $scheme;',
      );
    }
    lines.push('    }');
  });
  lines.push('}', '');
  return lines.join('\n');
}

/** What `nginx.site.list` shows of a managed file, read back from the lines renderSite writes. */
export function describeSite(text: string): { serverNames: string[]; listen: string | null; tls: boolean } | null {
  if (!text.startsWith(MANAGED_HEADER)) return null;
  const serverNames = /^ {4}server_name (.*);$/m.exec(text)?.[1]?.split(' ') ?? [];
  const listen = /^ {4}listen (.*);$/m.exec(text)?.[1] ?? null;
  return { serverNames, listen, tls: /^ {4}ssl_certificate /m.test(text) };
}
