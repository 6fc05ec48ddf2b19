import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import nginxModule from '../../src/modules/nginx/index.js';
import { slot } from '../../src/modules/nginx/guard.js';
import type { SiteSpec } from '../../src/modules/nginx/payload.js';
import { describeSite, renderSite, sitePaths } from '../../src/modules/nginx/render.js';
import { createRegistry } from '../../src/modules/registry.js';
import { HandlerFailure } from '../../src/modules/types.js';

const registry = createRegistry([nginxModule]);
const dirs = { sitesDir: '/etc/nginx/sites-enabled', tlsDir: '/etc/nginx/steward-tls' };
const validate = (spec: unknown) => registry.validatePayload('nginx.site.apply', spec) as SiteSpec;
const render = (spec: SiteSpec) => renderSite(spec, sitePaths(dirs, spec.name));

const base: SiteSpec = {
  name: 'shop',
  serverNames: ['shop.example', '*.shop.example'],
  listen: { port: 8080, address: '127.0.0.1' },
  root: '/srv/www/shop',
  index: ['index.html', 'index.htm'],
  locations: [
    { path: '/static/', root: '/srv/static' },
    { path: '/api/', proxyPass: 'http://127.0.0.1:3000/v1/' },
  ],
};

/** The characters that give an nginx file its structure: directive ends, blocks and lines. */
const skeleton = (text: string) => text.replace(/[^;{}\n]/g, '');

function refusal(fn: () => unknown): { message: string } | null {
  try {
    fn();
    return null;
  } catch (e) {
    return { message: (e as Error).message };
  }
}

describe('nginx site rendering', () => {
  it('renders each value in its slot', () => {
    const text = render(validate(base));
    expect(text).toContain('    listen 127.0.0.1:8080;\n');
    expect(text).toContain('    server_name shop.example *.shop.example;\n');
    expect(text).toContain('    root /srv/www/shop;\n');
    expect(text).toContain('    index index.html index.htm;\n');
    expect(text).toContain('    location /static/ {\n        root /srv/static;\n    }\n');
    expect(text).toContain('        proxy_pass http://127.0.0.1:3000/v1/;\n');
    expect(describeSite(text)).toEqual({ serverNames: ['shop.example', '*.shop.example'], listen: '127.0.0.1:8080', tls: false });
  });

  it('renders TLS with the key and certificate paths, never their contents', () => {
    const tls = { certPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', keyPem: '-----BEGIN PRIVATE KEY-----\nSECRETKEY\n-----END PRIVATE KEY-----\n' };
    const text = render(validate({ ...base, listen: { port: 443, ssl: true }, tls }));
    expect(text).toContain('    listen 443 ssl;\n');
    expect(text).toContain('    ssl_certificate /etc/nginx/steward-tls/shop.crt;\n');
    expect(text).toContain('    ssl_certificate_key /etc/nginx/steward-tls/shop.key;\n');
    expect(text).not.toContain('SECRETKEY');
  });

  it('brackets IPv6 listen addresses and refuses what is not an address', () => {
    expect(render(validate({ ...base, listen: { port: 80, address: '::1' } }))).toContain('listen [::1]:80;');
    expect(refusal(() => render(validate({ ...base, listen: { port: 80, address: '1.2.3' } })))?.message).toContain('listen.address');
  });

  it('refuses ssl without tls, tls without ssl, and a location with both or neither target', () => {
    expect(refusal(() => render(validate({ ...base, listen: { port: 443, ssl: true } })))?.message).toContain('listen.ssl');
    expect(refusal(() => render(validate({ ...base, locations: [{ path: '/x/' }] })))?.message).toContain('locations[0]');
    expect(refusal(() => render(validate({ ...base, locations: [{ path: '/x/', root: '/a', proxyPass: 'http://b' }] })))?.message).toContain('locations[0]');
  });

  it.each([
    ['serverNames', { serverNames: ['a.example;'] }],
    ['serverNames', { serverNames: ['a.example b'] }],
    ['serverNames', { serverNames: ['~^(?<x>.+)$'] }],
    ['root', { root: '/srv/x;}' }],
    ['root', { root: '/srv/$document_root' }],
    ['root', { root: '/srv/"x"' }],
    ['root', { root: '/srv/x\n' }],
    ['root', { root: 'relative' }],
    ['index', { index: 'a b' }],
    ['index', { index: ["x'"] }],
    ['locations', { locations: [{ path: '/a {', root: '/x' }] }],
    ['locations', { locations: [{ path: '/a/', proxyPass: 'http://h/$1' }] }],
    ['locations', { locations: [{ path: '/a/', proxyPass: 'http://h#c' }] }],
    ['locations', { locations: [{ path: '/a/', root: '/x', extra: 'return 200' }] }],
    ['name', { name: '../x' }],
    ['name', { name: 'A B' }],
  ])('refuses a bad %s at validation, naming the field', (field, patch) => {
    const err = refusal(() => validate({ ...base, ...patch }));
    expect(err?.message).toContain(field);
  });

  it('the render-time guard refuses `..` paths and dangerous values even without the schema', () => {
    expect(refusal(() => render(validate({ ...base, root: '/srv/../etc' })))?.message).toContain('root: must not contain a `..`');
    for (const bad of [';', '{', '}', '"', "'", '\n', '$', '#', ' ', '\\', '\0']) {
      const e = refusal(() => render({ ...base, root: `/srv/x${bad}y` }));
      expect(e?.message, JSON.stringify(bad)).toMatch(/^root: /);
    }
    expect(refusal(() => slot('serverNames[0]', 'serverName', 'a;b'))).not.toBeNull();
  });

  it('a refusal is a HandlerFailure with code invalid_site and the field in details', () => {
    try {
      render({ ...base, serverNames: ['x;'] });
      throw new Error('not refused');
    } catch (e) {
      expect(e).toBeInstanceOf(HandlerFailure);
      expect((e as HandlerFailure).code).toBe('invalid_site');
      expect((e as HandlerFailure).details).toEqual({ issues: [{ field: 'serverNames[0]', rule: expect.stringContaining('";"') }] });
    }
  });
});

describe('no accepted value can leave its slot (property)', () => {
  // Mostly harmless characters with every dangerous one mixed in, so both outcomes are common.
  const chars = fc.constantFrom(...'abcz09-._/:*@~%+,=', ';', '{', '}', '"', "'", '\n', '\r', '\t', ' ', '$', '#', '\\', '`', '\0', 'é');
  const value = fc.array(chars, { minLength: 0, maxLength: 24 }).map((cs) => cs.join(''));
  const baseline = skeleton(render(validate(base)));

  const address = fc.oneof(fc.ipV4(), fc.ipV6(), fc.tuple(fc.oneof(fc.ipV4(), fc.ipV6()), value).map(([a, b]) => a + b), value);
  const slots: [string, (v: string) => unknown, fc.Arbitrary<string>?][] = [
    ['serverName', (v) => ({ ...base, serverNames: [v, 'b.example'] })],
    ['root', (v) => ({ ...base, root: `/${v}` })],
    ['index', (v) => ({ ...base, index: [v, 'index.htm'] })],
    ['location path', (v) => ({ ...base, locations: [{ path: `/${v}`, root: '/srv/static' }, base.locations![1]] })],
    ['location root', (v) => ({ ...base, locations: [{ path: '/static/', root: `/${v}` }, base.locations![1]] })],
    ['proxyPass', (v) => ({ ...base, locations: [base.locations![0], { path: '/api/', proxyPass: `http://${v}` }] })],
    ['listen address', (v) => ({ ...base, listen: { port: 8080, address: v } }), address],
    ['name', (v) => ({ ...base, name: v })],
  ];

  it.each(slots)('%s', (_name, make, gen = value) => {
    let accepted = 0;
    fc.assert(
      fc.property(gen, (v) => {
        let text: string;
        try {
          text = render(validate(make(v)));
        } catch {
          return true; // refused: fine, whatever the reason
        }
        accepted++;
        // Accepted: the file has exactly the structure of the baseline, and the value is in it verbatim.
        expect(skeleton(text)).toBe(baseline);
        expect(/[;{}\n"'$#\\`\s]/.test(v.replace(/^\//, ''))).toBe(false);
        return true;
      }),
      { numRuns: 400 },
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it('slot() never returns a value holding a structural character', () => {
    const kinds = ['siteName', 'serverName', 'filePath', 'uriPath', 'proxyUrl', 'indexFile', 'ipAddress'] as const;
    fc.assert(
      fc.property(fc.constantFrom(...kinds), fc.string({ unit: 'binary', maxLength: 40 }), (kind, v) => {
        let out: string;
        try {
          out = slot('f', kind, v);
        } catch {
          return true;
        }
        expect(out).not.toMatch(/[;{}\s"'$#\\`]/);
        return true;
      }),
      { numRuns: 2000 },
    );
  });
});
