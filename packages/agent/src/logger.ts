import pino, { type Logger } from 'pino';

export function createAgentLogger(level: string): Logger {
  return pino({
    name: 'steward-agent',
    level,
    redact: { paths: ['credential', 'token', 'enrollToken', 'password', '*.credential', '*.token', '*.password', '*.enrollToken'], censor: '[redacted]' },
  });
}
