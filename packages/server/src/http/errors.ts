import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fieldName, isStewardError, TooManyRequestsError, UnavailableError, type FieldIssue } from '@steward/protocol';
import { isStoreUnavailable } from '../store/unavailable.js';

const FASTIFY_CLIENT_ERRORS: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'empty_body' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_content_length' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'malformed_json' },
};

function validationIssues(err: FastifyError): FieldIssue[] {
  const where = err.validationContext ?? 'body';
  return (err.validation ?? []).slice(0, 20).map((v) => {
    const p = v.params as { missingProperty?: string; additionalProperty?: string };
    const extra = p.missingProperty ? `/${p.missingProperty}` : p.additionalProperty ? `/${p.additionalProperty}` : '';
    const rule = p.additionalProperty ? 'is not a known field' : (v.message ?? v.keyword);
    return { field: fieldName(v.instancePath + extra, where === 'body' ? undefined : where), rule };
  });
}

/** The Retry-After of a 503 `store_unavailable`: a PostgreSQL restart takes seconds. */
const STORE_RETRY_AFTER_S = 2;

/** Every error leaves as `{ error: { code, message, details } }`; a client mistake is never a 500. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof TooManyRequestsError || err instanceof UnavailableError) reply.header('retry-after', String(err.retryAfterSeconds));
    if (isStewardError(err)) return reply.status(err.status).send({ error: err.toBody() });
    if (err.validation) {
      const issues = validationIssues(err);
      const message = `invalid ${err.validationContext ?? 'request'}: ${issues.map((i) => `${i.field}: ${i.rule}`).join('; ')}`;
      return reply.status(400).send({ error: { code: 'validation_failed', message, details: { issues } } });
    }
    const known = err.code ? FASTIFY_CLIENT_ERRORS[err.code] : undefined;
    if (known) return reply.status(known.status).send({ error: { code: known.code, message: err.message } });
    if (err instanceof SyntaxError || (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)) {
      return reply.status(err.statusCode ?? 400).send({ error: { code: 'bad_request', message: err.message } });
    }
    if (isStoreUnavailable(err)) {
      // PostgreSQL restarting or unreachable: nothing was stored, and the same request will work
      // again in a moment. The driver's text (host, user) stays in the log.
      req.log.warn({ err }, 'request refused: the store does not answer');
      reply.header('retry-after', String(STORE_RETRY_AFTER_S));
      return reply.status(503).send({ error: { code: 'store_unavailable', message: 'the store (database) does not answer; the request did not complete, try again shortly' } });
    }
    req.log.error({ err }, 'request failed');
    return reply.status(500).send({ error: { code: 'internal', message: 'internal error; see the control-plane log' } });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({ error: { code: 'route_not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
  });
}

/**
 * Errors Fastify raises before routing (a URL that does not decode, `/x/%`), which the error
 * handler never sees: they get the same `{ error }` shape as every other answer.
 */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const code = err.code === 'FST_ERR_BAD_URL' ? 'bad_url' : 'bad_request';
  void reply.status(err.statusCode && err.statusCode < 500 ? err.statusCode : 400).send({ error: { code, message: err.message } });
}

/**
 * Errors of Node's HTTP parser (headers too large, malformed request line): answered with the
 * same `{ error }` body when the socket can still take one, then closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable) return void socket.destroy();
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const [status, text, code] = tooLarge ? [431, 'Request Header Fields Too Large', 'headers_too_large'] : [400, 'Bad Request', 'bad_request'];
  const body = JSON.stringify({ error: { code, message: tooLarge ? 'request line and headers exceed 16 KiB' : 'malformed HTTP request' } });
  socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
