import type { FastifyRequest } from 'fastify';
import type { Requester } from './approval-policies.js';

/** The authenticated token behind an operator request (always set behind operator auth). */
export function requesterOf(req: FastifyRequest): Requester | undefined {
  return req.apiTokenId ? { tokenId: req.apiTokenId, name: req.tokenName ?? req.apiTokenId } : undefined;
}
