import type { FastifyReply, FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthorizedError, type ApiRole as Role } from '@steward/protocol';
import type { Store } from '../store/store.js';
import { getApiToken, touchApiToken } from '../store/queries/tokens.js';
import { bearerOf, secretMatches, splitCredential } from '../security/secrets.js';

declare module 'fastify' {
  interface FastifyRequest {
    role?: Role;
    /** The operator token that authenticated the request (for `createdBy`-style records). */
    apiTokenId?: string;
    /** Name of the API token that made the request; recorded where an action needs a who (alert acks). */
    tokenName?: string;
  }
}

const READ_METHODS = new Set(['GET', 'HEAD']);

/** `last_used_at` is written at most this often per token, not on every request. */
const TOUCH_EVERY_MS = 60_000;

/** Operator authentication: a bearer token; readers may only read. */
export function operatorAuth(store: Store) {
  const touched = new Map<string, number>();
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    // Never from the URL (`?access_token=`): URLs land in proxy logs, history and Referer.
    const token = bearerOf(req.headers.authorization);
    if (!token) throw new UnauthorizedError('send Authorization: Bearer <token>');
    // A token that is malformed, unknown or wrong gets one answer: which of them it was is no one's business.
    const parts = splitCredential(token);
    const row = parts ? await getApiToken(store.db, parts.id) : undefined;
    if (!parts || !row || !secretMatches(parts.secret, row.token_hash)) throw new UnauthorizedError('token not recognised');
    req.role = row.role as Role;
    req.apiTokenId = row.id;
    req.tokenName = row.name;
    const now = Date.now();
    if ((touched.get(row.id) ?? 0) < now - TOUCH_EVERY_MS) {
      touched.set(row.id, now);
      void touchApiToken(store.db, row.id, now).catch(() => {});
    }
    if (row.role === 'reader' && !READ_METHODS.has(req.method)) {
      throw new ForbiddenError('this token may only read');
    }
  };
}
