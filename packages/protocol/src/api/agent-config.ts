import { Type, type Static } from '@sinclair/typebox';
import { ConfigFieldIssue, ConfigRevision, PushedConfigSchema } from '../agent/config.js';
import { Nullable, Timestamp } from './common.js';

/** Name of a config document (`base`, `web`, `eu-west`): also its URL segment. */
export const CONFIG_DOCUMENT_NAME_PATTERN = '^[a-z0-9][a-z0-9_.-]{0,62}$';

export const ConfigDocumentNameParams = Type.Object({
  name: Type.String({ pattern: CONFIG_DOCUMENT_NAME_PATTERN }),
});
export type ConfigDocumentNameParams = Static<typeof ConfigDocumentNameParams>;

/** Which nodes a document applies to: every node, nodes matching a label selector, or a list of ids/names. */
export const ConfigTarget = Type.Union([
  Type.Object({ all: Type.Literal(true) }, { additionalProperties: false }),
  Type.Object(
    { selector: Type.String({ minLength: 1, maxLength: 2000, description: 'label selector: k=v,k2!=v2,k3,!k4' }) },
    { additionalProperties: false },
  ),
  Type.Object(
    { nodes: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 1000, description: 'node ids or names' }) },
    { additionalProperties: false },
  ),
]);
export type ConfigTarget = Static<typeof ConfigTarget>;

export const ConfigPriority = Type.Integer({
  minimum: -1_000_000,
  maximum: 1_000_000,
  description: 'merge order: documents are merged lowest first, so a higher priority wins (ties by name)',
});

export const ConfigDocumentPut = Type.Object(
  {
    target: ConfigTarget,
    priority: ConfigPriority,
    config: PushedConfigSchema,
  },
  { additionalProperties: false },
);
export type ConfigDocumentPut = Static<typeof ConfigDocumentPut>;

export const ConfigDocument = Type.Object({
  name: Type.String(),
  target: ConfigTarget,
  priority: Type.Integer(),
  config: PushedConfigSchema,
  version: Type.Integer({ minimum: 1, description: 'counts the PUTs of this document' }),
  updatedAt: Timestamp,
  updatedBy: Type.String({ description: 'the API token that wrote it' }),
});
export type ConfigDocument = Static<typeof ConfigDocument>;

export const CONFIG_STATUS_STATES = ['applied', 'rejected', 'pending'] as const;
export type ConfigStatusState = (typeof CONFIG_STATUS_STATES)[number];

/** What the agent last said about a revision (`pending`: sent, not answered yet). */
export const AppliedConfig = Type.Object({
  revision: ConfigRevision,
  state: Type.Union(CONFIG_STATUS_STATES.map((s) => Type.Literal(s))),
  reason: Type.Optional(Type.String()),
  issues: Type.Optional(Type.Array(ConfigFieldIssue)),
  at: Timestamp,
});
export type AppliedConfig = Static<typeof AppliedConfig>;

/** `GET /api/v1/nodes/:id/config`. */
export const NodeConfigView = Type.Object({
  nodeId: Type.String(),
  revision: ConfigRevision,
  config: PushedConfigSchema,
  sources: Type.Record(Type.String(), Type.String(), { description: 'dotted key path → name of the document that gave it' }),
  documents: Type.Array(Type.String(), { description: 'names of the matching documents, in merge order' }),
  applied: Nullable(AppliedConfig),
  inSync: Type.Boolean({ description: 'the agent applied the current revision' }),
});
export type NodeConfigView = Static<typeof NodeConfigView>;
