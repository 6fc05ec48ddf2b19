import type { FastifyError, FastifyInstance } from 'fastify';
import { fieldName, isStewardError, TooManyRequestsError, type FieldIssue } from '@steward/protocol';

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

/** Every error leaves as `{ error: { code, message, details } }`; a client mistake is never a 500. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof TooManyRequestsError) reply.header('retry-after', String(err.retryAfterSeconds));
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
    req.log.error({ err }, 'request failed');
    return reply.status(500).send({ error: { code: 'internal', message: 'internal error; see the control-plane log' } });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({ error: { code: 'route_not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
  });
}
