import { Type, type Static } from '@sinclair/typebox';
import { AGENT_VERSION_PATTERN } from '../modules/agent.js';
import { AGENT_UPGRADE_NODE_STATES, AGENT_UPGRADE_STATES } from '../states.js';
import { JobTarget } from './commands.js';
import { Id, Nullable, Timestamp } from './common.js';

export const AgentUpgradeStateSchema = Type.Union(AGENT_UPGRADE_STATES.map((s) => Type.Literal(s)));
export const AgentUpgradeNodeStateSchema = Type.Union(AGENT_UPGRADE_NODE_STATES.map((s) => Type.Literal(s)));

/** Default grace for a new agent to be welcomed before it is rolled back. */
export const DEFAULT_UPGRADE_GRACE_MS = 120_000;

/** `POST /api/v1/agent-upgrades`. */
export const AgentUpgradeCreate = Type.Object(
  {
    version: Type.String({ pattern: AGENT_VERSION_PATTERN, description: 'the agent version to install; its package (steward-agent-<version>-linux-<arch>.tar.gz) must be in the artifact store' }),
    target: JobTarget,
    batchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'nodes per batch; a batch starts when the one before it ended' })),
    maxUnavailable: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'at most this many nodes upgrading at once (rolling); default 1' })),
    canary: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, default: 0, description: 'nodes upgraded first, alone; any failure among them pauses' })),
    failureThreshold: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, default: 0, description: 'pause once more nodes than this failed or rolled back' })),
    graceMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 3_600_000, description: `how long a new agent has to be welcomed before it is rolled back (default ${DEFAULT_UPGRADE_GRACE_MS} ms)` })),
  },
  { additionalProperties: false },
);
export type AgentUpgradeCreate = Static<typeof AgentUpgradeCreate>;

export const AgentUpgradeBatch = Type.Object({
  batch: Type.Integer({ description: '0 is the canary batch when there is one' }),
  canary: Type.Boolean(),
  total: Type.Integer(),
  counts: Type.Record(Type.String(), Type.Integer()),
});

export const AgentUpgrade = Type.Object(
  {
    id: Id,
    version: Type.String(),
    target: Type.Unknown(),
    batchSize: Nullable(Type.Integer()),
    maxUnavailable: Nullable(Type.Integer()),
    canary: Type.Integer(),
    failureThreshold: Type.Integer(),
    graceMs: Type.Integer(),
    state: AgentUpgradeStateSchema,
    /** Why it paused (or was aborted); null while it runs. */
    reason: Nullable(Type.String()),
    total: Type.Integer(),
    counts: Type.Record(Type.String(), Type.Integer()),
    createdAt: Timestamp,
    createdBy: Nullable(Type.String()),
    updatedAt: Timestamp,
    finishedAt: Nullable(Timestamp),
  },
  { description: 'a fleet-wide agent upgrade' },
);
export type AgentUpgrade = Static<typeof AgentUpgrade>;

export const AgentUpgradeNode = Type.Object({
  nodeId: Id,
  name: Type.String(),
  batch: Type.Integer(),
  state: AgentUpgradeNodeStateSchema,
  fromVersion: Nullable(Type.String()),
  commandId: Nullable(Id),
  reason: Nullable(Type.String()),
  startedAt: Nullable(Timestamp),
  finishedAt: Nullable(Timestamp),
});
export type AgentUpgradeNode = Static<typeof AgentUpgradeNode>;

export const AgentUpgradeDetail = Type.Composite([
  AgentUpgrade,
  Type.Object({ batches: Type.Array(AgentUpgradeBatch), nodes: Type.Array(AgentUpgradeNode) }),
]);
export type AgentUpgradeDetail = Static<typeof AgentUpgradeDetail>;

export const AgentUpgradeListQuery = Type.Object(
  { state: Type.Optional(AgentUpgradeStateSchema), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })) },
  { additionalProperties: false },
);

/** An agent upgrade changed: created, a node ended, paused, resumed, aborted, completed. */
export const AgentUpgradeEvent = Type.Object({
  kind: Type.Literal('agent-upgrade'),
  at: Timestamp,
  upgradeId: Id,
  version: Type.String(),
  state: AgentUpgradeStateSchema,
  nodeId: Type.Optional(Id),
  nodeState: Type.Optional(AgentUpgradeNodeStateSchema),
  reason: Type.Optional(Type.String()),
});
