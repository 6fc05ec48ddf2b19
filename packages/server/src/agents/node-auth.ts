import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { StewardError, UnauthorizedError } from '@steward/protocol';
import { bearerOf, secretMatches, splitCredential } from '../security/secrets.js';
import { getNodeRow } from '../store/queries/nodes.js';
import type { Database, NodesTable } from '../store/schema.js';

declare module 'fastify' {
  interface FastifyRequest {
    nodeId?: string;
  }
}

/** An operator revoked the node: its credential is refused for good (403 `node_revoked`). */
export class NodeRevokedError extends StewardError {
  constructor(nodeId: string) {
    super('node_revoked', 403, `node ${nodeId} was revoked by an operator; enroll it again with a new token`, { nodeId });
  }
}

/**
 * The node whose credential is in `Authorization: Bearer <credential>`, or a 401. During a
 * credential rotation the new credential is accepted too, until the agent confirms it stored it.
 */
export async function authenticateNode(db: Kysely<Database>, authorization: string | undefined): Promise<NodesTable> {
  const parts = splitCredential(bearerOf(authorization) ?? '');
  const node = parts ? await getNodeRow(db, parts.id) : undefined;
  const matches = (hash: string | null | undefined) => !!parts && !!hash && secretMatches(parts.secret, hash);
  if (!parts || !node || !(matches(node.credential_hash) || matches(node.next_credential_hash))) {
    throw new UnauthorizedError('node credential is not valid (was the node deleted? re-enroll it)');
  }
  if (node.revoked_at != null) throw new NodeRevokedError(node.id);
  return node;
}

/** A hook for routes agents call with their node credential; sets `req.nodeId`. */
export function nodeAuth(db: Kysely<Database>) {
  return async (req: FastifyRequest): Promise<void> => {
    req.nodeId = (await authenticateNode(db, req.headers.authorization)).id;
  };
}
