import { ValidationError } from '@steward/protocol';

/** Parses `HOST:PORT` (`[::1]:7070` for IPv6); `flag`/`field` name the option in the error. */
export function parseListen(text: string, flag = '--listen', field = 'listen'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new ValidationError(`${flag} ${JSON.stringify(text)} is not HOST:PORT (e.g. 127.0.0.1:7070)`, [
      { field, rule: 'HOST:PORT' },
    ]);
  }
  return { host: (m[1] ?? m[2])!, port };
}

export function urlFor(host: string, port: number, tls = false): string {
  const local = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `${tls ? 'https' : 'http'}://${local.includes(':') ? `[${local}]` : local}:${port}`;
}
