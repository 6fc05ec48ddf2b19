import { Type, type Static } from '@sinclair/typebox';
import { CommandError, CommandResultStateSchema, COMMAND_TYPE_PATTERN } from '../api/commands.js';
import { Id, Timestamp } from '../api/common.js';
import { Inventory, Stats } from '../api/inventory.js';

/** Version of the agent ⇄ control plane WebSocket protocol. */
export const AGENT_PROTOCOL_VERSION = 1;
export const AGENT_CONNECT_PATH = '/agent/v1/connect';
export const AGENT_ENROLL_PATH = '/agent/v1/enroll';

const IdList = Type.Array(Id, { maxItems: 100_000 });

/** What the agent knows that the control plane may have missed: repairs lost messages. */
const AgentView = {
  running: IdList,
  outbox: Type.Array(Id, { maxItems: 100_000, description: 'results stored locally, not yet acknowledged' }),
};

// ---- agent → control plane ----

export const HelloMessage = Type.Object({
  type: Type.Literal('hello'),
  protocol: Type.Integer(),
  inventory: Inventory,
  ...AgentView,
});

export const HeartbeatMessage = Type.Object({
  type: Type.Literal('heartbeat'),
  seq: Type.Integer({ minimum: 0 }),
  stats: Stats,
  ...AgentView,
});

export const CommandStartedMessage = Type.Object({
  type: Type.Literal('command.started'),
  commandId: Id,
  at: Timestamp,
});

export const CommandResultMessage = Type.Object({
  type: Type.Literal('command.result'),
  commandId: Id,
  state: CommandResultStateSchema,
  result: Type.Optional(Type.Unknown()),
  error: Type.Optional(CommandError),
  startedAt: Timestamp,
  finishedAt: Timestamp,
});

export const AgentMessage = Type.Union([HelloMessage, HeartbeatMessage, CommandStartedMessage, CommandResultMessage]);
export type AgentMessage = Static<typeof AgentMessage>;
export type HelloMessage = Static<typeof HelloMessage>;
export type HeartbeatMessage = Static<typeof HeartbeatMessage>;
export type CommandResultMessage = Static<typeof CommandResultMessage>;

// ---- control plane → agent ----

export const DispatchedCommand = Type.Object({
  id: Id,
  type: Type.String({ pattern: COMMAND_TYPE_PATTERN }),
  payload: Type.Unknown(),
  timeoutMs: Type.Integer({ minimum: 1 }),
  createdAt: Timestamp,
});
export type DispatchedCommand = Static<typeof DispatchedCommand>;

export const WelcomeMessage = Type.Object({
  type: Type.Literal('welcome'),
  nodeId: Id,
  name: Type.String(),
  heartbeatIntervalMs: Type.Integer({ minimum: 100 }),
  serverTime: Timestamp,
});

export const DispatchMessage = Type.Object({
  type: Type.Literal('command.dispatch'),
  command: DispatchedCommand,
});

export const CancelMessage = Type.Object({
  type: Type.Literal('command.cancel'),
  commandId: Id,
});

export const ResultAckMessage = Type.Object({
  type: Type.Literal('result.ack'),
  commandIds: Type.Array(Id, { minItems: 1 }),
});

export const ConfigMessage = Type.Object({
  type: Type.Literal('config'),
  heartbeatIntervalMs: Type.Integer({ minimum: 100 }),
});

export const ErrorMessage = Type.Object({
  type: Type.Literal('error'),
  code: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Unknown()),
});

export const ServerMessage = Type.Union([
  WelcomeMessage,
  DispatchMessage,
  CancelMessage,
  ResultAckMessage,
  ConfigMessage,
  ErrorMessage,
]);
export type ServerMessage = Static<typeof ServerMessage>;
export type WelcomeMessage = Static<typeof WelcomeMessage>;
