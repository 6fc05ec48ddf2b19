import pino, { type Logger } from 'pino';

/** Paths pino blanks in every log line, so no token, credential or password is ever written. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.token',
  '*.credential',
  '*.password',
  '*.secret',
  '*.enrollToken',
  '*.keyPem',
  'token',
  'credential',
  'password',
  'enrollToken',
  'keyPem',
];

export function createLogger(level = 'info', name = 'steward-server', stream?: { write(line: string): void }): Logger {
  const opts = { name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return stream ? pino(opts, stream) : pino(opts);
}
