import { Type, type Static } from '@sinclair/typebox';
import { ADMISSION_STATES, NODE_PROTOCOLS } from '../states.js';
import { Id, LabelsSchema, Nullable, Timestamp } from './common.js';
import { NODE_NAME_PATTERN } from './enrollment.js';

export const NodeProtocolSchema = Type.Union(NODE_PROTOCOLS.map((p) => Type.Literal(p)));
export const AdmissionStateSchema = Type.Union(ADMISSION_STATES.map((s) => Type.Literal(s)));

export const Admission = Type.Object(
  {
    id: Id,
    protocol: NodeProtocolSchema,
    externalId: Type.String({ description: "the device's id in its own protocol (sender_id, agentsn)" }),
    hostname: Type.String(),
    source: Type.String({ description: 'the address it connected from' }),
    profile: Type.Unknown({ description: 'what the device said about itself' }),
    state: AdmissionStateSchema,
    nodeId: Nullable(Id),
    createdAt: Timestamp,
    seenAt: Timestamp,
    decidedAt: Nullable(Timestamp),
    decidedBy: Nullable(Type.String()),
  },
  { description: 'a device of a credential-less protocol waiting for an operator, or decided' },
);
export type Admission = Static<typeof Admission>;

export const AdmissionListQuery = Type.Object({
  state: Type.Optional(AdmissionStateSchema),
});
export type AdmissionListQuery = Static<typeof AdmissionListQuery>;

export const AdmissionApprove = Type.Object(
  {
    name: Type.Optional(Type.String({ pattern: NODE_NAME_PATTERN, description: 'the node name (default: from the hostname)' })),
    labels: Type.Optional(LabelsSchema),
  },
  { additionalProperties: false },
);
export type AdmissionApprove = Static<typeof AdmissionApprove>;
