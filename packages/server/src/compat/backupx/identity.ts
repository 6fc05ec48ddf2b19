import { BACKUPX_HEARTBEAT_INTERVAL_MS, newId, type Labels } from '@steward/protocol';
import type { BackupXNodes } from '../../agents/transports/backupx/transport.js';
import { BackupXError, invalidToken } from '../../agents/transports/backupx/envelope.js';
import type { Context } from '../../core/context.js';
import { freeNodeName, nameFromHostname, newNodeRow } from '../../enrollment/service.js';
import { publishNodeChanged } from '../../events/node-status.js';
import { secretMatches, splitCredential } from '../../security/secrets.js';
import { findAdmission, insertAdmission } from '../../store/queries/admissions.js';
import { getEnrollmentToken, takeEnrollmentUse } from '../../store/queries/enrollment.js';
import { findNodeByExternalId, getNodeRow, insertNode } from '../../store/queries/nodes.js';
import { fromJson } from '../../store/rows.js';
import type { NodesTable } from '../../store/schema.js';

const PROTOCOL = 'backupx';

/**
 * A BackupX agent's `X-Agent-Token` is a Steward enrollment token (`steward enroll create`).
 * Its first heartbeat enrolls a node (protocol backupx, external id = the token's id, one use
 * spent, the token's labels); from then on the token is that node's credential: the node keeps
 * the secret's hash, so the token expiring, being used up or deleted does not lock it out.
 * The join is recorded as an approved admission; once the node is deleted, that record refuses
 * the token for good (an operator lets the agent back with a new token).
 */
export class BackupXIdentity implements BackupXNodes {
  constructor(private readonly ctx: Context) {}

  async resolve(token: string, joining?: Parameters<BackupXNodes['resolve']>[1]): Promise<NodesTable> {
    const parts = splitCredential(token);
    if (!parts) throw invalidToken();
    const known = await this.known(parts.id, parts.secret);
    if (known) return known;
    if (await findAdmission(this.ctx.store.db, PROTOCOL, parts.id)) {
      // The admission and its node are written in one transaction, so a second first heartbeat
      // can miss the node above and see the admission committed just after: read the node again
      // before calling it deleted.
      const made = await this.known(parts.id, parts.secret);
      if (made) return made;
      throw new BackupXError('NODE_DELETED', 401, 'the node of this token was deleted; give the agent a new enrollment token');
    }
    if (!joining) throw invalidToken('this token has no node yet: the agent joins with a heartbeat');
    try {
      return await this.enroll(parts.id, parts.secret, joining);
    } catch (e) {
      // Two first heartbeats at once: one made the node (the unique external id refused the other).
      const made = await this.known(parts.id, parts.secret);
      if (made) return made;
      throw e;
    }
  }

  /** The node of this token, when its secret matches; undefined when the token has none. */
  private async known(tokenId: string, secret: string): Promise<NodesTable | undefined> {
    const node = await findNodeByExternalId(this.ctx.store.db, PROTOCOL, tokenId);
    if (node && !secretMatches(secret, node.credential_hash)) throw invalidToken();
    return node;
  }

  private async enroll(tokenId: string, secret: string, joining: NonNullable<Parameters<BackupXNodes['resolve']>[1]>): Promise<NodesTable> {
    const token = await getEnrollmentToken(this.ctx.store.db, tokenId);
    if (!token || !secretMatches(secret, token.token_hash)) throw invalidToken();
    const now = this.ctx.now();
    const nodeId = newId('node');
    const hostname = joining.heartbeat.hostname ?? '';
    // An old agent's body token is a secret: the admission record keeps what it said without it.
    const { token: _secret, ...said } = joining.heartbeat;
    const made = await this.ctx.store.tx(async (db) => {
      if (!(await takeEnrollmentUse(db, token.id, now))) {
        throw token.expires_at <= now
          ? new BackupXError('ENROLLMENT_TOKEN_EXPIRED', 401, 'the enrollment token has expired')
          : new BackupXError('ENROLLMENT_TOKEN_USED_UP', 401, 'the enrollment token has no uses left');
      }
      const name = await freeNodeName(db, nameFromHostname(hostname || 'backupx'));
      await insertNode(
        db,
        newNodeRow({
          id: nodeId,
          name,
          // The enrollment secret's hash, as enrollment keeps it: the token is now this node's credential.
          credentialHash: token.token_hash,
          labels: fromJson<Labels>(token.labels) ?? {},
          inventory: joining.inventory,
          heartbeatIntervalMs: BACKUPX_HEARTBEAT_INTERVAL_MS,
          now,
          protocol: PROTOCOL,
          externalId: token.id,
        }),
      );
      await insertAdmission(db, {
        id: newId('adm'),
        protocol: PROTOCOL,
        external_id: token.id,
        hostname: hostname.slice(0, 255),
        source: joining.source,
        profile: JSON.stringify(said),
        heartbeat_interval_ms: BACKUPX_HEARTBEAT_INTERVAL_MS,
        state: 'approved',
        node_id: nodeId,
        created_at: now,
        seen_at: now,
        decided_at: now,
        decided_by: `enrollment:${token.id}`,
      });
      return getNodeRow(db, nodeId);
    });
    publishNodeChanged(this.ctx, made!, 'enrolled');
    this.ctx.log.info({ nodeId, name: made!.name, enrollmentToken: token.id }, 'a BackupX agent enrolled as a node');
    return made!;
  }
}
