import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { UnauthorizedError } from '@steward/protocol';
import { bearerOf, secretMatches, splitCredential } from '../security/secrets.js';
import { getNodeRow } from '../store/queries/nodes.js';
import type { Database, NodesTable } from '../store/schema.js';

declare module 'fastify' {
  interface FastifyRequest {
    nodeId?: string;
  }
}

/** The node whose credential is in `Authorization: Bearer <credential>`, or a 401. */
export async function authenticateNode(db: Kysely<Database>, authorization: string | undefined): Promise<NodesTable> {
  const parts = splitCredential(bearerOf(authorization) ?? '');
  const node = parts ? await getNodeRow(db, parts.id) : undefined;
  if (!parts || !node || !secretMatches(parts.secret, node.credential_hash)) {
    throw new UnauthorizedError('node credential is not valid (was the node deleted? re-enroll it)');
  }
  return node;
}

/** A hook for routes agents call with their node credential; sets `req.nodeId`. */
export function nodeAuth(db: Kysely<Database>) {
  return async (req: FastifyRequest): Promise<void> => {
    req.nodeId = (await authenticateNode(db, req.headers.authorization)).id;
  };
}
