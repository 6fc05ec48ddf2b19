import type { FastifyError, FastifyInstance } from 'fastify';
import { BACKUPX_OK, isStewardError, StewardError, type BackupXEnvelope } from '@steward/protocol';

/** A refusal in BackupX's words: its upper-case code (`NODE_INVALID_TOKEN`) and HTTP status. */
export class BackupXError extends StewardError {
  constructor(code: string, status: number, message: string) {
    super(code, status, message);
  }
}

export const invalidToken = (message = 'the X-Agent-Token is not valid') => new BackupXError('NODE_INVALID_TOKEN', 401, message);

export function ok<T>(data: T): BackupXEnvelope<T> {
  return { code: BACKUPX_OK, message: 'success', data };
}

/** Fastify's own refusals (body parsing, limits) under BackupX's codes. */
const FASTIFY_CODES: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'PAYLOAD_TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'INVALID_INPUT' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'INVALID_INPUT' },
};

/**
 * Every answer of the scope leaves in BackupX's envelope, errors too: its agent reads `code`
 * as a string and `data` from inside (a number in `code` would break its decoding). A client
 * mistake is a 4xx; only a fault of ours is a 500, and it is logged.
 */
export function installEnvelopeErrors(scope: FastifyInstance): void {
  scope.setErrorHandler((err: FastifyError, req, reply) => {
    const send = (status: number, code: string, message: string) => reply.status(status).send({ code, message } satisfies BackupXEnvelope);
    if (err instanceof BackupXError) return send(err.status, err.code, err.message);
    if (isStewardError(err)) return send(err.status, err.status === 400 ? 'INVALID_INPUT' : err.code.toUpperCase(), err.message);
    const known = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (known) return send(known.status, known.code, err.message);
    if (err instanceof SyntaxError || (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)) return send(err.statusCode ?? 400, 'INVALID_INPUT', err.message);
    req.log.error({ err }, 'BackupX agent request failed');
    return send(500, 'INTERNAL_ERROR', 'internal error; see the control-plane log');
  });
}
