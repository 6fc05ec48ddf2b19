import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import {
  canonicalJson,
  COMMAND_TYPE_PATTERN,
  compile,
  ConflictError,
  DEFAULT_COMMAND_TIMEOUT_MS,
  isStewardError,
  NotFoundError,
  Type,
} from '@steward/protocol';
import type { InboundSettings } from '../core/config-schema.js';
import { AgentError } from '../core/errors.js';
import { parseListen } from '../core/listen.js';
import { allowList, checkSignature, InboundRefusal, sameKey } from './guard.js';
import type { InboundEntry, InboundRunner, MediastackStatus } from './types.js';

/** POST /api/v1/tasks: MediaStack's `{request_id, type, payload}`. */
const TaskRequest = compile(
  Type.Object(
    {
      request_id: Type.String({ minLength: 1, maxLength: 200 }),
      type: Type.String({ pattern: COMMAND_TYPE_PATTERN, maxLength: 100 }),
      payload: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      timeout_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400_000 })),
      wait_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
    },
    { additionalProperties: false },
  ),
);

const DEFAULT_MAX_WAIT_MS = 30_000;
const BODY_LIMIT = 4 * 1024 * 1024;

export interface InboundApiOptions {
  settings: InboundSettings;
  /** The X-API-KEY callers must send; never logged. */
  apiKey: string;
  runner: InboundRunner;
  status: () => Promise<MediastackStatus>;
  nodeId: string;
  log: Logger;
}

export interface InboundApi {
  /** `host:port` it listens on. */
  address: string;
  close(): Promise<void>;
}

/** What a task looks like to the caller: the command, its state and, once ended, its outcome. */
function taskView(entry: InboundEntry, repeated: boolean) {
  const r = entry.result;
  return {
    request_id: entry.requestId,
    command_id: entry.id,
    type: entry.type,
    status: r ? r.state : 'running',
    result: r?.result ?? null,
    error: r?.error ?? null,
    received_at: entry.receivedAt,
    started_at: r?.startedAt ?? null,
    finished_at: r?.finishedAt ?? null,
    repeated,
  };
}

function errorBody(code: string, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** Fastify's own client errors (bad JSON, wrong content type, body too large) keep their status. */
function fastifyClientError(err: FastifyError): { status: number; code: string } | null {
  const status = err.statusCode ?? 500;
  if (status < 400 || status >= 500) return null;
  const code = status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : 'bad_request';
  return { status, code };
}

/**
 * The agent's inbound API (`steward agent --listen`): MediaStack controllers call the node
 * directly. Every request passes the allowlist, X-API-KEY and, when configured, the HMAC
 * signature; commands run through the agent's executor and journal, with `request_id` as the
 * idempotency key. Fastify is loaded only when the API is configured.
 */
export async function startInboundApi(o: InboundApiOptions): Promise<InboundApi> {
  const log = o.log.child({ component: 'inbound-api' });
  const allowed = allowList(o.settings.allowFrom);
  const maxWaitMs = o.settings.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  const rawBodies = new WeakMap<IncomingMessage, string>();
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT, return503OnClosing: true });

  // JSON is parsed here, not by Fastify, so the signature is checked over the exact bytes sent.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    rawBodies.set(req.raw, text);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      const err = new Error('the body is not valid JSON') as FastifyError;
      err.statusCode = 400;
      done(err, undefined);
    }
  });

  const refuse = (req: FastifyRequest, e: InboundRefusal) => {
    // Who and why, never what they sent: the key and the body stay out of the log.
    log.warn({ ip: req.ip, method: req.method, path: req.url.split('?')[0], code: e.code }, `inbound API refused a request: ${e.message}`);
    throw e;
  };

  app.addHook('onRequest', async (req) => {
    if (allowed && !allowed(req.ip)) refuse(req, new InboundRefusal('ip_not_allowed', `${req.ip} is not in this node's inbound.allowFrom`, 403));
    const key = req.headers['x-api-key'];
    if (!sameKey(typeof key === 'string' ? key : undefined, o.apiKey)) {
      refuse(req, new InboundRefusal('unauthorized', key === undefined ? 'send this node\'s API key as X-API-KEY' : 'the X-API-KEY is not this node\'s key', 401));
    }
  });

  const secret = o.settings.hmacSecret;
  if (secret) {
    app.addHook('preHandler', async (req) => {
      const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : undefined);
      try {
        checkSignature(secret, header('x-timestamp'), header('x-signature'), rawBodies.get(req.raw) ?? '', Date.now());
      } catch (e) {
        if (e instanceof InboundRefusal) refuse(req, e);
        throw e;
      }
    });
  }

  app.setErrorHandler((err: FastifyError, req, reply: FastifyReply) => {
    if (err instanceof InboundRefusal) return reply.code(err.status).send(errorBody(err.code, err.message));
    if (isStewardError(err)) return reply.code(err.status).send({ error: err.toBody() });
    if (err instanceof AgentError && err.code === 'shutting_down') return reply.code(503).send(errorBody(err.code, err.message));
    const client = fastifyClientError(err);
    if (client) return reply.code(client.status).send(errorBody(client.code, err.message));
    log.error({ err, method: req.method, path: req.url.split('?')[0] }, 'inbound API request failed');
    return reply.code(500).send(errorBody('internal', 'the agent failed to handle the request; see its log'));
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send(errorBody('not_found', `no route ${req.method} ${req.url.split('?')[0]}`)));

  const answer = (reply: FastifyReply, entry: InboundEntry, repeated: boolean) =>
    reply.code(entry.state === 'done' ? 200 : 202).send(taskView(entry, repeated));

  app.post('/api/v1/tasks', async (req, reply) => {
    const body = TaskRequest.parse(req.body ?? {}, 'task request');
    const payload = body.payload ?? {};
    const requestHash = createHash('sha256').update(canonicalJson({ type: body.type, payload })).digest('hex');
    const waitMs = Math.min(body.wait_ms ?? maxWaitMs, maxWaitMs);
    const known = o.runner.find(body.request_id);
    if (!known) o.runner.validate(body.type, payload);
    const { entry, created } = known
      ? { entry: known, created: false }
      : o.runner.submit({ requestId: body.request_id, requestHash, type: body.type, payload, timeoutMs: body.timeout_ms ?? DEFAULT_COMMAND_TIMEOUT_MS });
    if (!created && entry.requestHash !== requestHash) {
      throw new ConflictError('request_id_conflict', `request_id ${JSON.stringify(body.request_id)} was already used for a different command (${entry.id})`, {
        commandId: entry.id,
      });
    }
    if (created) log.info({ requestId: body.request_id, commandId: entry.id, type: body.type, ip: req.ip }, 'inbound API accepted a command');
    return answer(reply, (await o.runner.settled(entry.id, waitMs)) ?? entry, !created);
  });

  app.get<{ Params: { request_id: string } }>('/api/v1/tasks/:request_id', async (req, reply) => {
    const entry = o.runner.find(req.params.request_id);
    if (!entry) throw new NotFoundError('request', req.params.request_id);
    return answer(reply, entry, true);
  });

  app.get('/api/v1/status', async () => ({ node_id: o.nodeId, time: Math.floor(Date.now() / 1000), status: await o.status() }));

  app.get('/api/v1/types', async () => ({ types: o.runner.types() }));

  await app.listen(parseListen(o.settings.listen));
  log.info({ listen: o.settings.listen, signed: Boolean(secret), allowFrom: o.settings.allowFrom ?? 'any' }, 'inbound API listening');
  return { address: o.settings.listen, close: () => app.close() };
}
