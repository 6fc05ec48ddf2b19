import { Type, type Static } from '@steward/protocol';

const AbsPath = (description: string, dflt?: string) =>
  Type.String({ pattern: '^/[^\\s;{}"\'$#\\\\]*$', maxLength: 1024, description, ...(dflt === undefined ? {} : { default: dflt }) });

/** The `nginx:` section of the agent config; defaults fit Debian's nginx package. */
export const NginxSettings = Type.Object(
  {
    binary: AbsPath('the nginx program', '/usr/sbin/nginx'),
    configFile: AbsPath('main config file, passed as -c to `nginx -t` and reload', '/etc/nginx/nginx.conf'),
    prefix: Type.Optional(AbsPath('prefix directory passed as -p (for a private instance)')),
    sitesDir: AbsPath('directory the main config includes; site files are written here', '/etc/nginx/sites-enabled'),
    tlsDir: AbsPath('where site certificates and keys are written (mode 0600)', '/etc/nginx/steward-tls'),
    pidFile: AbsPath("the nginx master's pid file (must match the config's pid directive)", '/run/nginx.pid'),
    testTimeoutMs: Type.Integer({ minimum: 1000, maximum: 600_000, default: 30_000, description: 'limit for one `nginx -t`' }),
  },
  { additionalProperties: false, default: {} },
);
export type NginxSettings = Static<typeof NginxSettings>;
