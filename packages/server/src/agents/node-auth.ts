import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { TLSSocket } from 'node:tls';
import { ForbiddenError, StewardError, UnauthorizedError } from '@steward/protocol';
import { bearerOf, secretMatches, splitCredential } from '../security/secrets.js';
import { getNodeCredentials } from '../store/queries/nodes.js';
import type { Database } from '../store/schema.js';

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
 * A well-formed credential of a node this store has no row for: the node was deleted, or it
 * enrolled after the backup this control plane was restored from (401 `node_unknown`).
 */
export class NodeUnknownError extends StewardError {
  constructor(nodeId: string) {
    super(
      'node_unknown',
      401,
      `node ${nodeId} is not known to this control plane (deleted, or enrolled after the backup it was restored from); enroll it again with a new token`,
      { nodeId },
    );
  }
}

/**
 * The node whose credential is in `Authorization: Bearer <credential>`, or a 401. During a
 * credential rotation the new credential is accepted too, until the agent confirms it stored it.
 */
export async function authenticateNode(db: Kysely<Database>, authorization: string | undefined): Promise<{ id: string }> {
  const parts = splitCredential(bearerOf(authorization) ?? '');
  const node = parts ? await getNodeCredentials(db, parts.id) : undefined;
  const matches = (hash: string | null | undefined) => !!parts && !!hash && secretMatches(parts.secret, hash);
  if (parts && !node) throw new NodeUnknownError(parts.id);
  if (!parts || !node || !(matches(node.credential_hash) || matches(node.next_credential_hash))) {
    throw new UnauthorizedError('node credential is not valid (was the node deleted? re-enroll it)');
  }
  if (node.revoked_at != null) throw new NodeRevokedError(node.id);
  return node;
}

/**
 * mTLS (`--require-client-cert`): the connection must carry a client certificate our CA signed
 * for this very node (CN = node id), so a stolen credential alone does not connect from elsewhere.
 */
export function checkClientCert(socket: TLSSocket, nodeId: string, warn: (msg: string, why: string) => void): void {
  const cert = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : null;
  if (!cert || !cert.subject) {
    warn('agent connection refused: no client certificate (--require-client-cert)', 'missing');
    throw new UnauthorizedError('this control plane requires a client certificate (mTLS); enroll the node again over https to get one');
  }
  if (!socket.authorized) {
    warn('agent connection refused: client certificate not signed by our CA', String(socket.authorizationError));
    throw new UnauthorizedError(`client certificate refused (${String(socket.authorizationError)}); enroll the node again to get one from this control plane`);
  }
  if (cert.subject.CN !== nodeId) {
    warn('agent connection refused: client certificate belongs to another node', 'cn_mismatch');
    throw new ForbiddenError(`client certificate is for ${JSON.stringify(cert.subject.CN)}, not for node ${nodeId}`);
  }
}

/**
 * A hook for routes agents call with their node credential; sets `req.nodeId`. With
 * `requireClientCert` (mTLS) the connection's client certificate must be this node's too, as on
 * the link: a credential copied off a machine downloads nothing from elsewhere.
 */
export function nodeAuth(db: Kysely<Database>, requireClientCert = false) {
  return async (req: FastifyRequest): Promise<void> => {
    req.nodeId = (await authenticateNode(db, req.headers.authorization)).id;
    if (requireClientCert) checkClientCert(req.raw.socket as TLSSocket, req.nodeId, (msg, why) => req.log.warn({ nodeId: req.nodeId, why }, msg));
  };
}
