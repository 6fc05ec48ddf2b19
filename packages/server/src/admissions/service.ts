import {
  ConflictError,
  newId,
  NotFoundError,
  type Admission,
  type AdmissionApprove,
  type AdmissionState,
  type Labels,
  type NodeProtocol,
} from '@steward/protocol';
import type { Context } from '../core/context.js';
import { freeNodeName, nameFromHostname, newNodeRow } from '../enrollment/service.js';
import { publishNodeChanged } from '../events/node-status.js';
import { makeCredential } from '../security/secrets.js';
import { EMPTY_INVENTORY } from '../store/rows.js';
import type { AdmissionsTable, NodesTable } from '../store/schema.js';
import { decideAdmission, deleteAdmission, findAdmission, getAdmission, insertAdmission, listAdmissions, touchAdmission } from '../store/queries/admissions.js';
import { findNodeByExternalId, getNodeRow, insertNode } from '../store/queries/nodes.js';
import { CidrList } from '../security/cidrs.js';
import { admissionFromRow } from './rows.js';

/** What a seed-protocol device says when it asks to be let in. */
export interface AdmitRequest {
  protocol: Exclude<NodeProtocol, 'steward'>;
  /** Its id in its own protocol (Retire-Cluster's sender_id, BootAgent's agentsn). */
  externalId: string;
  hostname: string;
  /** The address it connected from. */
  source: string;
  /** What it said about itself, kept for the operator deciding (bounded by the caller). */
  profile: unknown;
  /** The heartbeat interval its protocol uses: the node's liveness follows it. */
  heartbeatIntervalMs: number;
}

export type AdmitAnswer =
  | { state: 'approved'; node: NodesTable }
  | { state: 'pending' | 'rejected'; admissionId: string };

/**
 * Admission for protocols that carry no credential: a device known by (protocol, its own id)
 * is a node once an operator approved it, or at once when it connects from an admitted range.
 * Everyone else waits as `pending`; a rejected device stays rejected until approved.
 */
export class AdmissionService {
  private readonly admitted: CidrList;

  constructor(
    private readonly ctx: Context,
    admitCidrs: readonly string[] = [],
  ) {
    this.admitted = new CidrList(admitCidrs);
  }

  async admit(req: AdmitRequest): Promise<AdmitAnswer> {
    const db = this.ctx.store.db;
    const node = await findNodeByExternalId(db, req.protocol, req.externalId);
    if (node) return { state: 'approved', node };
    const now = this.ctx.now();
    let row = await findAdmission(db, req.protocol, req.externalId);
    if (row?.state === 'approved') {
      // Approved once, but its node was deleted since: it starts over as a new device.
      await deleteAdmission(db, row.id);
      row = undefined;
    }
    const seen = { hostname: req.hostname.slice(0, 255), source: req.source, profile: JSON.stringify(req.profile ?? {}), seen_at: now };
    if (!row) {
      row = { id: newId('adm'), protocol: req.protocol, external_id: req.externalId, ...seen, heartbeat_interval_ms: req.heartbeatIntervalMs, state: 'pending', node_id: null, created_at: now, decided_at: null, decided_by: null };
      try {
        await insertAdmission(db, row);
      } catch {
        // Another connection of the same device inserted it first.
        row = (await findAdmission(db, req.protocol, req.externalId)) ?? row;
      }
    } else {
      await touchAdmission(db, row.id, seen);
    }
    if (row.state === 'pending' && this.admitted.has(req.source)) {
      const made = await this.approveRow(row, {}, `cidr:${req.source}`);
      if (made) return { state: 'approved', node: made };
    }
    if (row.state === 'pending') this.ctx.log.info({ protocol: req.protocol, externalId: req.externalId, source: req.source }, 'a device waits for admission (steward nodes approve)');
    return { state: row.state === 'rejected' ? 'rejected' : 'pending', admissionId: row.id };
  }

  async list(state?: AdmissionState): Promise<Admission[]> {
    return (await listAdmissions(this.ctx.store.db, state)).map(admissionFromRow);
  }

  async approve(idOrExternal: string, body: AdmissionApprove, by: string): Promise<Admission> {
    const row = await this.find(idOrExternal);
    const node = await this.approveRow(row, body, by);
    if (!node) throw new ConflictError('admission_decided', `admission ${row.id} is ${row.state}; only pending or rejected devices can be approved`);
    return admissionFromRow((await getAdmission(this.ctx.store.db, row.id))!);
  }

  async reject(idOrExternal: string, by: string): Promise<Admission> {
    const row = await this.find(idOrExternal);
    const moved = await decideAdmission(this.ctx.store.db, row.id, 'rejected', { decided_at: this.ctx.now(), decided_by: by });
    if (!moved) throw new ConflictError('admission_decided', `admission ${row.id} is ${row.state}; only pending devices can be rejected`);
    return admissionFromRow(moved);
  }

  private async find(idOrExternal: string): Promise<AdmissionsTable> {
    const row = await getAdmission(this.ctx.store.db, idOrExternal);
    if (!row) throw new NotFoundError('admission', idOrExternal);
    return row;
  }

  /** Makes the node and marks the admission approved in one transaction; undefined when already decided. */
  private async approveRow(row: AdmissionsTable, body: AdmissionApprove, by: string): Promise<NodesTable | undefined> {
    const now = this.ctx.now();
    const nodeId = newId('node');
    // The device has no credential: it is known by its protocol id. The hash only fills the column.
    const { hash } = makeCredential(nodeId);
    const made = await this.ctx.store.tx(async (db) => {
      const moved = await decideAdmission(db, row.id, 'approved', { decided_at: now, decided_by: by, node_id: nodeId });
      if (!moved) return undefined;
      const name = await freeNodeName(db, body.name ?? nameFromHostname(row.hostname));
      const labels: Labels = body.labels ?? {};
      await insertNode(
        db,
        newNodeRow({
          id: nodeId,
          name,
          credentialHash: hash,
          labels,
          inventory: { ...EMPTY_INVENTORY, hostname: row.hostname },
          heartbeatIntervalMs: row.heartbeat_interval_ms,
          now,
          protocol: row.protocol,
          externalId: row.external_id,
        }),
      );
      return getNodeRow(db, nodeId);
    });
    if (made) {
      publishNodeChanged(this.ctx, made, 'enrolled');
      this.ctx.log.info({ nodeId: made.id, name: made.name, protocol: row.protocol, by }, 'admitted a device as a node');
    }
    return made;
  }
}
