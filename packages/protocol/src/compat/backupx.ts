import { Type, type Static } from '@sinclair/typebox';

/**
 * BackupX's agent API (its `backupx agent` polls the master over HTTP), as Steward serves it:
 * every request carries `X-Agent-Token`, every answer is BackupX's `{code, data, message}`
 * envelope. The shapes follow BackupX's published agent client; every bound is Steward's.
 */

export const BACKUPX_HEARTBEAT_PATH = '/api/agent/heartbeat';
export const BACKUPX_POLL_PATH = '/api/agent/commands/poll';
export const BACKUPX_RESULT_PATH = '/api/agent/commands/:id/result';
export const BACKUPX_TOKEN_HEADER = 'x-agent-token';

/** The agent's defaults: a heartbeat every 15 s, a poll every 5 s; the master calls it offline after 45 s. */
export const BACKUPX_HEARTBEAT_INTERVAL_MS = 15_000;
export const BACKUPX_POLL_INTERVAL_MS = 5_000;
export const BACKUPX_OFFLINE_AFTER_MS = 45_000;

/** The envelope's `code` on success; errors carry an upper-case code such as `NODE_INVALID_TOKEN`. */
export const BACKUPX_OK = 'OK';

/** BackupX agents parse ids as Go `uint`: numbers, kept below 2^31 so 32-bit builds parse them too. */
export const BackupXId = Type.Integer({ minimum: 1, maximum: 2_147_483_647 });

const Text = (maxLength: number) => Type.String({ maxLength });

/** `POST /api/agent/heartbeat`; the agent omits empty fields. `token` is the old agents' body token. */
export const BackupXHeartbeat = Type.Object({
  token: Type.Optional(Text(400)),
  hostname: Type.Optional(Text(255)),
  ipAddress: Type.Optional(Text(64)),
  agentVersion: Type.Optional(Text(64)),
  os: Type.Optional(Text(64)),
  arch: Type.Optional(Text(64)),
});
export type BackupXHeartbeat = Static<typeof BackupXHeartbeat>;

export const BackupXHeartbeatAnswer = Type.Object({
  status: Type.Literal('ok'),
  nodeId: BackupXId,
  name: Type.String(),
  /** Steward's own id of the node (BackupX agents ignore fields they do not know). */
  stewardNodeId: Type.String(),
});
export type BackupXHeartbeatAnswer = Static<typeof BackupXHeartbeatAnswer>;

export const BackupXCommand = Type.Object({
  id: BackupXId,
  type: Type.String(),
  payload: Type.Unknown(),
});
export type BackupXCommand = Static<typeof BackupXCommand>;

export const BackupXPollAnswer = Type.Object({ command: Type.Union([BackupXCommand, Type.Null()]) });
export type BackupXPollAnswer = Static<typeof BackupXPollAnswer>;

/** `POST /api/agent/commands/:id/result`. */
export const BackupXCommandResult = Type.Object({
  success: Type.Boolean(),
  errorMessage: Type.Optional(Text(4096)),
  result: Type.Optional(Type.Unknown()),
});
export type BackupXCommandResult = Static<typeof BackupXCommandResult>;

/** One entry of a `list_dir` result: BackupX reports no mode and no modification time. */
export const BackupXDirEntry = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 255 }),
  path: Type.String({ maxLength: 4096 }),
  isDir: Type.Boolean(),
  size: Type.Integer({ minimum: 0 }),
});
export type BackupXDirEntry = Static<typeof BackupXDirEntry>;

/** What a successful `list_dir` carries as `result` (Go writes an empty slice as `null`). */
export const BackupXListDirResult = Type.Object({
  entries: Type.Union([Type.Array(BackupXDirEntry, { maxItems: 100_000 }), Type.Null()]),
});
export type BackupXListDirResult = Static<typeof BackupXListDirResult>;

/** The envelope every answer travels in. */
export interface BackupXEnvelope<T = unknown> {
  code: string;
  message: string;
  data?: T;
}
