import type { FastifyInstance, FastifyRequest } from 'fastify';

/** What the audit log learns of one request; `audit/` chains and stores it. */
export interface AuditRecord {
  at: number;
  actorId: string | null;
  actorName: string | null;
  role: string | null;
  action: string;
  target: string | null;
  sourceIp: string;
  userAgent: string | null;
  status: number;
  errorCode: string | null;
  summary: Record<string, unknown>;
}

export type AuditSink = (record: AuditRecord) => void;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The audit log's name for the route's action; derived from method and path when absent. */
    auditAction?: string;
    /** A high-rate route not audited call by call (a terminal's keystrokes); refusals (401/403/429) still are. */
    auditSkip?: boolean;
  }
  interface FastifyRequest {
    /** The start of the answer's body: where a created resource's id or an error's code is read from. */
    auditAnswerHead?: string;
    /** What the action was done to, when the route knows better than its params (the command a node's shell became). */
    auditTarget?: string;
  }
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Refusals before or at authentication: recorded for reads too (and bounded by the audit service). */
export const REFUSED = new Set([401, 403, 429]);
const VERB: Record<string, string> = { POST: 'create', PUT: 'put', PATCH: 'update', DELETE: 'delete' };

/**
 * A stable action name from the route pattern: resource segments joined by dots, then the verb
 * (`POST /api/v1/jobs` → `jobs.create`, `DELETE /api/v1/tokens/:id` → `tokens.delete`); a route
 * that ends in a word after an id is that word (`POST /api/v1/commands/:id/approve` →
 * `commands.approve`).
 */
export function actionName(method: string, pattern: string): string {
  const segs = pattern.replace(/^\/api\/v1\/?/, '').split('/').filter(Boolean);
  const words = segs.filter((s) => !s.startsWith(':')).map((s) => s.replace(/-/g, '_'));
  const last = segs.at(-1);
  const afterParam = segs.length > 1 && last !== undefined && !last.startsWith(':') && segs.slice(0, -1).some((s) => s.startsWith(':'));
  if (method === 'POST' && afterParam) return words.join('.');
  return [...words, VERB[method] ?? method.toLowerCase()].join('.');
}

/** Fields of a body that say what was asked without carrying a secret: never `payload`, `env`, keys. */
const SUMMARY_FIELDS = ['type', 'node', 'name', 'role', 'selector', 'batchSize', 'version', 'maxUnavailable', 'canary', 'failureThreshold', 'commandTypes', 'approvals', 'ttlSeconds', 'reason', 'labels'] as const;
const MAX_TEXT = 200;

function short(v: unknown): unknown {
  if (typeof v === 'string') return v.length > MAX_TEXT ? `${v.slice(0, MAX_TEXT)}…` : v;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return v;
  const text = JSON.stringify(v) ?? '';
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : v;
}

/** A short summary of the request: the whitelisted fields, a job's target in brief, never the payload. */
export function summaryOf(body: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!body || typeof body !== 'object' || Array.isArray(body)) return out;
  const b = body as Record<string, unknown>;
  for (const f of SUMMARY_FIELDS) if (b[f] !== undefined) out[f] = short(b[f]);
  const t = b.target as Record<string, unknown> | undefined;
  if (t && typeof t === 'object') {
    if (typeof t.selector === 'string') out.target = { selector: short(t.selector) };
    else if (Array.isArray(t.nodes)) out.target = { nodes: t.nodes.length <= 10 ? t.nodes.map(short) : `${t.nodes.length} nodes` };
    else if (t.all === true) out.target = { all: true };
  }
  return out;
}

function targetOf(req: FastifyRequest): string | null {
  if (req.auditTarget) return req.auditTarget;
  const params = Object.values((req.params ?? {}) as Record<string, unknown>).filter((v): v is string => typeof v === 'string');
  if (params.length) return params.join(',');
  // A created resource: its id leads the answer (schemas list `id` first).
  const m = /^\{"id":"([^"]{1,200})"/.exec(req.auditAnswerHead ?? '');
  return m ? m[1]! : null;
}

function errorCodeOf(head: string | undefined): string | null {
  const m = /^\{"error":\{"code":"([a-z0-9_]{1,80})"/.exec(head ?? '');
  return m ? m[1]! : null;
}

/**
 * Records every changing request of the operator API, and every refused one (401/403, also a
 * read), after the answer has gone: the log never delays or fails a request. Installed on the
 * authenticated scope, so it sees what authentication decided.
 */
export function installAuditHook(scope: FastifyInstance, sink: AuditSink, now: () => number = Date.now): void {
  scope.addHook('onSend', async (req, reply, payload) => {
    if (typeof payload === 'string' && (MUTATING.has(req.method) || reply.statusCode >= 400)) req.auditAnswerHead = payload.slice(0, 400);
    return payload;
  });
  scope.addHook('onResponse', async (req, reply) => {
    const status = reply.statusCode;
    const refused = REFUSED.has(status);
    if (!MUTATING.has(req.method) && !refused) return;
    if (req.routeOptions.config?.auditSkip && !refused) return;
    const pattern = req.routeOptions.url ?? req.url.split('?')[0]!;
    const named = req.routeOptions.config?.auditAction ?? actionName(req.method, pattern);
    const ua = req.headers['user-agent'];
    sink({
      at: now(),
      actorId: req.apiTokenId ?? null,
      actorName: req.tokenName ?? null,
      role: req.role ?? null,
      // Who it was is unknown, so what they tried is the route, not an action of theirs.
      action: status === 401 ? 'auth.failed' : status === 429 && !req.apiTokenId ? 'auth.rate_limited' : named,
      target: targetOf(req),
      sourceIp: req.ip,
      userAgent: typeof ua === 'string' ? ua.slice(0, MAX_TEXT) : null,
      status,
      errorCode: status >= 400 ? errorCodeOf(req.auditAnswerHead) : null,
      summary: req.apiTokenId ? summaryOf(req.body) : { route: `${req.method} ${pattern}` },
    });
  });
}
