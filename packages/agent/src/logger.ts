import pino, { type Logger } from 'pino';

export function createAgentLogger(level: string): Logger {
  return pino({
    name: 'steward-agent',
    level,
    redact: {
      // keyPem: nginx site keys. Handlers never log payloads; this is the second line of defence.
      paths: ['credential', 'token', 'enrollToken', 'password', 'keyPem', '*.credential', '*.token', '*.password', '*.enrollToken', '*.keyPem', 'payload.tls.keyPem', '*.payload.password'],
      censor: '[redacted]',
    },
  });
}
