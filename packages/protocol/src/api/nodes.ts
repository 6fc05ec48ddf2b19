import { Type, type Static } from '@sinclair/typebox';
import { NODE_STATUSES } from '../states.js';
import { Id, LabelsSchema, ListQuery, Nullable, Timestamp } from './common.js';
import { NODE_NAME_PATTERN } from './enrollment.js';
import { CommandTypeInfo, DiskUsage, Stats } from './inventory.js';
import { ListingFormatQuery } from './listing.js';
import { NodeProtocolSchema } from './admissions.js';

export const NodeStatusSchema = Type.Union(NODE_STATUSES.map((s) => Type.Literal(s)));

/** The node's agent speaks a protocol version this control plane does not serve (see docs/upgrades.md). */
export const VersionSkew = Type.Object(
  {
    agentProtocol: Type.String({ description: 'the version the agent said in its hello' }),
    serverProtocol: Type.String({ description: "the control plane's own version" }),
    verdict: Type.Union([Type.Literal('agent_too_old'), Type.Literal('agent_too_new')], { description: 'which side to upgrade: the agent (too old) or the control plane (too new)' }),
    at: Timestamp,
  },
  { description: 'the last refusal of this node\'s agent for its protocol version; null once an agent of a served version said hello' },
);
export type VersionSkew = Static<typeof VersionSkew>;

export const Node = Type.Object(
  {
    id: Id,
    name: Type.String(),
    status: NodeStatusSchema,
    connected: Type.Boolean({ description: 'a connection to some control-plane replica is open (for polling protocols: polls keep coming)' }),
    protocol: NodeProtocolSchema,
    labels: LabelsSchema,
    hostname: Type.String(),
    addresses: Type.Array(Type.String()),
    os: Type.Object({ platform: Type.String(), release: Type.String(), distro: Type.Optional(Type.String()) }),
    arch: Type.String(),
    agentVersion: Type.String(),
    cpuCores: Type.Integer(),
    memoryBytes: Type.Number(),
    disks: Type.Array(DiskUsage),
    capabilities: Type.Array(Type.String()),
    modules: Type.Array(Type.String()),
    commandTypes: Type.Array(CommandTypeInfo),
    stats: Nullable(Stats),
    heartbeatIntervalMs: Type.Integer(),
    lastSeenAt: Nullable(Timestamp),
    statusChangedAt: Timestamp,
    createdAt: Timestamp,
    versionSkew: Type.Optional(Nullable(VersionSkew)),
    revokedAt: Type.Optional(Nullable(Type.Integer({ minimum: 0, description: 'when an operator revoked the node: its credential is refused from then on' }))),
  },
  { description: 'a managed machine' },
);
export type Node = Static<typeof Node>;

export const NodeListQuery = Type.Object({
  status: Type.Optional(NodeStatusSchema),
  selector: Type.Optional(Type.String({ maxLength: 2000, description: 'label selector: k=v,k2!=v2,k3,!k4' })),
  ...ListQuery,
  ...ListingFormatQuery,
});
export type NodeListQuery = Static<typeof NodeListQuery>;

export const NodePatch = Type.Object(
  {
    name: Type.Optional(Type.String({ pattern: NODE_NAME_PATTERN })),
    labels: Type.Optional(
      Type.Record(Type.String(), Nullable(Type.String()), {
        description: 'merge patch: a value sets the label, null removes it',
      }),
    ),
    heartbeatIntervalMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 3_600_000 })),
  },
  { additionalProperties: false },
);
export type NodePatch = Static<typeof NodePatch>;

export const NodeDeleteQuery = Type.Object({
  force: Type.Optional(Type.Boolean({ default: false })),
});

/** A credential sent to the node; it replaces the old one once the agent confirms it stored it. */
export const NodeCredentialRotation = Type.Object({
  nodeId: Id,
  credentialId: Type.String({ description: 'names the new credential (derived from its hash, not the secret)' }),
});
export type NodeCredentialRotation = Static<typeof NodeCredentialRotation>;
