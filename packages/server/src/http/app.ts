import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import swagger from '@fastify/swagger';
import { Ajv } from 'ajv';
import type { Logger } from 'pino';
import { clientErrorHandler, frameworkErrors, installErrorHandling } from './errors.js';
import { operatorAuth } from './auth.js';
import { limitAuthFailures } from './auth-failures.js';
import type { Limits } from '../core/limits.js';
import type { Metrics } from '../core/metrics.js';
import { installAuditHook, type AuditSink } from './audit-hook.js';
import type { Store } from '../store/store.js';

export interface AppOptions {
  log: Logger;
  store: Store;
  bodyLimit: number;
  version: string;
  limits: Limits;
  metrics: Metrics;
  /** Where the operator API's changing and refused requests are recorded. */
  audit?: AuditSink;
}

/** The Fastify instance with what every route relies on: errors, validation, docs, sockets. */
export async function createApp(o: AppOptions): Promise<{ app: FastifyInstance; api: (fn: (api: FastifyInstance) => void) => Promise<void> }> {
  const app = Fastify({
    loggerInstance: o.log as FastifyBaseLogger,
    // Per-request lines would dominate the log at fleet scale; errors are logged where handled.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: o.bodyLimit,
    forceCloseConnections: true,
    frameworkErrors,
    clientErrorHandler,
  });
  installErrorHandling(app);
  limitAuthFailures(app, { max: o.limits.authFailures, windowMs: o.limits.authFailureWindowMs, metrics: o.metrics });
  // Query strings are text and need coercing ("5" → 5); bodies are JSON and must not be
  // (coercion would turn a label's null, meaning "remove", into "").
  const bodyAjv = new Ajv({ removeAdditional: false, allErrors: true, coerceTypes: false, useDefaults: true, strict: false });
  const textAjv = new Ajv({ removeAdditional: false, allErrors: true, coerceTypes: 'array', useDefaults: true, strict: false });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema));
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Steward control plane API', version: o.version, description: 'Fleet control plane: nodes, commands, jobs, events.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  // A larger agent frame is not read: ws closes that one connection with 1009 (the session logs it).
  await app.register(websocket, { options: { maxPayload: o.limits.agentFrameBytes } });
  const auth = operatorAuth(o.store);
  /** Registers operator routes behind bearer authentication. */
  const api = async (fn: (api: FastifyInstance) => void) => {
    await app.register(async (scope) => {
      scope.addHook('onRequest', auth);
      if (o.audit) installAuditHook(scope, o.audit);
      fn(scope);
    });
  };
  return { app, api };
}
