import type { FastifyReply, FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthorizedError } from '@steward/protocol';
import type { Store } from '../store/store.js';
import { getApiToken } from '../store/queries/tokens.js';
import { bearerOf, secretMatches, splitCredential } from '../security/secrets.js';

export const ROLES = ['admin', 'operator', 'reader'] as const;
export type Role = (typeof ROLES)[number];

declare module 'fastify' {
  interface FastifyRequest {
    role?: Role;
  }
}

const READ_METHODS = new Set(['GET', 'HEAD']);

/** Operator authentication: a bearer token; readers may only read. */
export function operatorAuth(store: Store) {
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const token = bearerOf(req.headers.authorization) ?? tokenFromQuery(req);
    const parts = token ? splitCredential(token) : null;
    if (!parts) throw new UnauthorizedError('send Authorization: Bearer <token>');
    const row = await getApiToken(store.db, parts.id);
    if (!row || !secretMatches(parts.secret, row.token_hash)) throw new UnauthorizedError('token is not valid');
    req.role = row.role as Role;
    if (row.role === 'reader' && !READ_METHODS.has(req.method)) {
      throw new ForbiddenError('this token may only read');
    }
  };
}

/** EventSource cannot set headers; the events stream alone also takes `?access_token=`. */
function tokenFromQuery(req: FastifyRequest): string | null {
  if (!req.url.startsWith('/api/v1/events')) return null;
  const q = req.query as { access_token?: unknown } | undefined;
  return typeof q?.access_token === 'string' ? q.access_token : null;
}
