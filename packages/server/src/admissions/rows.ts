import type { Admission, AdmissionState, NodeProtocol } from '@steward/protocol';
import { fromJson } from '../store/rows.js';
import type { AdmissionsTable } from '../store/schema.js';

export function admissionFromRow(r: AdmissionsTable): Admission {
  return {
    id: r.id,
    protocol: r.protocol as NodeProtocol,
    externalId: r.external_id,
    hostname: r.hostname,
    source: r.source,
    profile: fromJson<unknown>(r.profile) ?? {},
    state: r.state as AdmissionState,
    nodeId: r.node_id,
    createdAt: r.created_at,
    seenAt: r.seen_at,
    decidedAt: r.decided_at,
    decidedBy: r.decided_by,
  };
}
