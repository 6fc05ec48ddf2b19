import { Type, type Static } from '@sinclair/typebox';
import { CommandError, CommandProgress, CommandResultStateSchema, COMMAND_TYPE_PATTERN } from '../api/commands.js';
import { Id, Timestamp } from '../api/common.js';
import { Inventory, Stats } from '../api/inventory.js';
import { ShellCols, ShellRows } from '../modules/shell.js';
import { OUTPUT_CHUNKS_PER_MESSAGE, OutputChunk } from '../api/output.js';
import { CommandSignature, SigningKeySet } from './signing.js';
import { CatalogUpdateMessage, ConfigDesiredMessage, ConfigStatusMessage } from './config.js';

export const AGENT_CONNECT_PATH = '/agent/v1/connect';
export const AGENT_ENROLL_PATH = '/agent/v1/enroll';

const IdList = Type.Array(Id, { maxItems: 100_000 });

/** What the agent knows that the control plane may have missed: repairs lost messages. */
const AgentView = {
  running: IdList,
  outbox: Type.Array(Id, { maxItems: 100_000, description: 'results stored locally, not yet acknowledged' }),
  /**
   * Each started agent module's current state report, keyed by module name (monitors, services,
   * tasks…). Carried on every hello and heartbeat so the control plane can rebuild what a lost
   * `module.event` would have told it. Each module's report has its own schema in this package.
   */
  modules: Type.Optional(Type.Record(Type.String({ pattern: '^[a-z][a-z0-9]*$' }), Type.Unknown())),
};

// ---- agent → control plane ----

export const HelloMessage = Type.Object({
  type: Type.Literal('hello'),
  /**
   * `MAJOR.MINOR` (see version.ts); the integer form is what agents before 1.1 sent. Read by the
   * control plane before the rest of the hello is validated, so a future shape gets a clear refusal.
   */
  protocol: Type.Union([Type.String({ pattern: '^[0-9]{1,6}\\.[0-9]{1,6}$' }), Type.Integer({ minimum: 0 })]),
  inventory: Inventory,
  /**
   * The agent stops its running tasks when the control plane has not acknowledged it for the
   * welcome's `fence.afterMs` (docs/tasks.md, fencing): the control plane then acknowledges each
   * stored heartbeat with `heartbeat.ack`. Agents before this field get no acks.
   */
  fencing: Type.Optional(Type.Boolean()),
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

/** How far a running command is; best effort, throttled by the agent (see CommandProgress). */
export const CommandProgressMessage = Type.Object({
  type: Type.Literal('command.progress'),
  commandId: Id,
  progress: CommandProgress,
});

/**
 * Output of a running command, written to the agent's outbox before it is sent and resent after
 * a reconnect until the control plane acknowledges it (`output.ack`). `seq` counts from 0 per
 * command across all its streams; a command's chunks always travel before its result.
 */
export const CommandOutputMessage = Type.Object({
  type: Type.Literal('command.output'),
  commandId: Id,
  chunks: Type.Array(OutputChunk, { minItems: 1, maxItems: OUTPUT_CHUNKS_PER_MESSAGE }),
});

/**
 * A command the agent ran on a request that did not come from the control plane (its inbound
 * API, `steward agent --listen`), reported once it ended so the node keeps one command history.
 * The control plane stores it once (a repeat changes nothing) and answers `result.ack`; until
 * then it stays in the agent's outbox. `payload` is already redacted of writeOnly parts.
 */
export const CommandReportedMessage = Type.Object({
  type: Type.Literal('command.reported'),
  commandId: Id,
  command: Type.Object({
    type: Type.String({ pattern: COMMAND_TYPE_PATTERN, maxLength: 100 }),
    payload: Type.Unknown(),
    timeoutMs: Type.Integer({ minimum: 1 }),
    receivedAt: Timestamp,
    via: Type.Literal('inbound'),
    requestId: Type.String({ minLength: 1, maxLength: 200, description: 'the caller\'s request_id' }),
  }),
  state: CommandResultStateSchema,
  result: Type.Optional(Type.Unknown()),
  error: Type.Optional(CommandError),
  startedAt: Timestamp,
  finishedAt: Timestamp,
});

/**
 * Answer to a welcome's `restored`: the control-plane commands this agent received between the
 * backup and the restore. The control plane reports each id its restored store does not know
 * (`command.unknown_after_restore` in the audit log) instead of forgetting it silently.
 */
export const CommandRecentMessage = Type.Object({
  type: Type.Literal('command.recent'),
  commandIds: Type.Array(Id, { maxItems: 1000 }),
});

/**
 * Something an agent module noticed (a monitor fired, a service crashed, a task printed output).
 * Best effort: sent only while connected; the module's heartbeat report is the durable truth.
 * `data` is checked on the control plane against the schema the module's feature registered.
 */
export const ModuleEventMessage = Type.Object({
  type: Type.Literal('module.event'),
  module: Type.String({ pattern: '^[a-z][a-z0-9]*$' }),
  event: Type.String({ pattern: '^[a-z][a-z0-9_.-]*$', maxLength: 100 }),
  at: Timestamp,
  data: Type.Unknown(),
});

/** The agent stored the credential a `credential.rotate` sent it; the old one may now stop working. */
export const CredentialRotatedMessage = Type.Object({
  type: Type.Literal('credential.rotated'),
  credentialId: Id,
});

export const AgentMessage = Type.Union([
  HelloMessage,
  HeartbeatMessage,
  CommandStartedMessage,
  CommandResultMessage,
  CommandProgressMessage,
  CommandReportedMessage,
  ModuleEventMessage,
  CredentialRotatedMessage,
  CommandOutputMessage,
  CommandRecentMessage,
  ConfigStatusMessage,
  CatalogUpdateMessage,
]);
export type AgentMessage = Static<typeof AgentMessage>;
export type HelloMessage = Static<typeof HelloMessage>;
export type HeartbeatMessage = Static<typeof HeartbeatMessage>;
export type CommandResultMessage = Static<typeof CommandResultMessage>;
export type CommandProgressMessage = Static<typeof CommandProgressMessage>;
export type CommandReportedMessage = Static<typeof CommandReportedMessage>;
export type ModuleEventMessage = Static<typeof ModuleEventMessage>;
export type CommandOutputMessage = Static<typeof CommandOutputMessage>;
export type CommandRecentMessage = Static<typeof CommandRecentMessage>;

// ---- control plane → agent ----

export const DispatchedCommand = Type.Object({
  id: Id,
  type: Type.String({ pattern: COMMAND_TYPE_PATTERN }),
  payload: Type.Unknown(),
  timeoutMs: Type.Integer({ minimum: 1 }),
  createdAt: Timestamp,
});
export type DispatchedCommand = Static<typeof DispatchedCommand>;

/**
 * Task fencing (sent in the welcome to an agent whose hello said `fencing`): when no
 * `heartbeat.ack` (or welcome) acknowledged a message the agent sent within `afterMs` of sending
 * it, the agent stops its running tasks (SIGTERM, SIGKILL after at most `killGraceMs`). The
 * control plane places a task from a lost node again only `afterMs + killGraceMs + marginMs`
 * after it last heard from that node, so the first copy has stopped by then.
 */
export const TaskFence = Type.Object({
  afterMs: Type.Integer({ minimum: 100 }),
  killGraceMs: Type.Integer({ minimum: 0 }),
  marginMs: Type.Integer({ minimum: 0 }),
});
export type TaskFence = Static<typeof TaskFence>;

export const WelcomeMessage = Type.Object({
  type: Type.Literal('welcome'),
  nodeId: Id,
  name: Type.String(),
  heartbeatIntervalMs: Type.Integer({ minimum: 100 }),
  serverTime: Timestamp,
  /** The control plane's signing keys; an agent with none pinned yet (enrolled before signing) pins these. */
  signingKeys: Type.Optional(SigningKeySet),
  /**
   * The control plane was restored from a backup taken at `backupAt` (restore at `restoredAt`):
   * the agent answers `command.recent` with the ids it received in between. Sent for a while after a restore.
   */
  restored: Type.Optional(Type.Object({ backupAt: Timestamp, restoredAt: Timestamp })),
  fence: Type.Optional(TaskFence),
});

export const DispatchMessage = Type.Object({
  type: Type.Literal('command.dispatch'),
  command: DispatchedCommand,
  /** Absent only on foreign protocols' proxies; Steward's agent refuses an unsigned dispatch. */
  signature: Type.Optional(CommandSignature),
});

/** The control plane's key set changed (rotation, retirement); the agent re-pins it. */
export const SigningKeysMessage = Type.Composite([Type.Object({ type: Type.Literal('signing.keys') }), SigningKeySet]);

/**
 * A new credential for this node. The agent writes it to its identity before it answers
 * `credential.rotated`; `signature` (over node id, credential id and a SHA-256 of the
 * credential) keeps anyone able to inject a frame from locking the node out.
 */
export const CredentialRotateMessage = Type.Object({
  type: Type.Literal('credential.rotate'),
  credentialId: Id,
  credential: Type.String({ minLength: 1, maxLength: 400 }),
  signature: CommandSignature,
});

export const CancelMessage = Type.Object({
  type: Type.Literal('command.cancel'),
  commandId: Id,
});

/**
 * Keystrokes for a running interactive command (`shell.session`). `seq` orders a session's input:
 * the agent applies it in order and ignores a seq it already applied. Input is never journaled
 * or logged (it may hold a password).
 */
export const SessionInputMessage = Type.Object({
  type: Type.Literal('session.input'),
  commandId: Id,
  seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  data: Type.String({ maxLength: 64 * 1024 }),
});

/** The operator's terminal changed size; the agent resizes the session's PTY. */
export const SessionResizeMessage = Type.Object({
  type: Type.Literal('session.resize'),
  commandId: Id,
  cols: ShellCols,
  rows: ShellRows,
});

export const ResultAckMessage = Type.Object({
  type: Type.Literal('result.ack'),
  commandIds: Type.Array(Id, { minItems: 1 }),
});

/** Output chunks of the command up to `upTo` (cumulative) are stored (or past the cap): the agent drops them. */
export const OutputAckMessage = Type.Object({
  type: Type.Literal('output.ack'),
  commandId: Id,
  upTo: Type.Integer({ minimum: 0 }),
});

export const ConfigMessage = Type.Object({
  type: Type.Literal('config'),
  heartbeatIntervalMs: Type.Integer({ minimum: 100 }),
  /** The fence for the new interval (it grows with it); only to an agent whose hello said `fencing`. */
  fence: Type.Optional(TaskFence),
});

/** The heartbeat `seq` was stored (the node's last-seen time is at least its receipt): the fencing clock's proof. */
export const HeartbeatAckMessage = Type.Object({
  type: Type.Literal('heartbeat.ack'),
  seq: Type.Integer({ minimum: 0 }),
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
  SessionInputMessage,
  SessionResizeMessage,
  ResultAckMessage,
  ConfigMessage,
  ErrorMessage,
  SigningKeysMessage,
  CredentialRotateMessage,
  OutputAckMessage,
  ConfigDesiredMessage,
  HeartbeatAckMessage,
]);
export type ServerMessage = Static<typeof ServerMessage>;
export type WelcomeMessage = Static<typeof WelcomeMessage>;
export type DispatchMessage = Static<typeof DispatchMessage>;
export type SigningKeysMessage = Static<typeof SigningKeysMessage>;
export type CredentialRotateMessage = Static<typeof CredentialRotateMessage>;
export type CredentialRotatedMessage = Static<typeof CredentialRotatedMessage>;
export type SessionInputMessage = Static<typeof SessionInputMessage>;
export type SessionResizeMessage = Static<typeof SessionResizeMessage>;
