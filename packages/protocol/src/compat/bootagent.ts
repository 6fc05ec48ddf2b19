import { Type, type Static } from '@sinclair/typebox';
import { SHA256_PATTERN } from '../api/artifacts.js';

/**
 * BootAgent's REST API (seed 003): a device that manages "child agents" registers with
 * `POST /agent/register` and then pushes its state with `POST /agent/status`; the reply to each
 * status carries the jobs it should run. Steward serves it on a listener of its own
 * (`steward server --bootagent-listen`). Devices may send fields not listed here (they are
 * ignored), but every field listed is checked and bounded.
 */
export const BOOTAGENT_REGISTER_PATH = '/agent/register';
export const BOOTAGENT_STATUS_PATH = '/agent/status';
/** Where the signed artifact URLs of install/upgrade jobs point (same listener). */
export const BOOTAGENT_ARTIFACTS_PATH = '/agent/artifacts';
/** Largest request body the listener reads. */
export const BOOTAGENT_BODY_LIMIT = 256 * 1024;
/** The step (seconds between reports) the seed uses by default; new nodes get it as their heartbeat interval. */
export const BOOTAGENT_DEFAULT_STEP_S = 600;

/** `status` in every reply: 0 is "ok" as in the seed; the others say why nothing was done. */
export const BootAgentStatusCode = {
  ok: 0,
  /** Not admitted yet: an operator approves it (`steward nodes approve <agentsn>`). */
  pending: 1,
  rejected: 2,
  invalidRequest: 3,
  failed: 4,
} as const;

/** The child agent states of the seed (sic: `stoped`). Others are accepted and shown as `failed`. */
export const BOOTAGENT_CHILD_STATES = ['stoped', 'running', 'fatal', 'killed'] as const;

const Hostname = Type.String({ minLength: 1, maxLength: 255 });
const AgentSn = Type.String({ maxLength: 128, description: 'the device id; empty or missing: its hostname is its id' });
const JobId = Type.String({ minLength: 1, maxLength: 128 });

export const BootAgentRegister = Type.Object({ hostname: Hostname, agentsn: Type.Optional(AgentSn) });
export type BootAgentRegister = Static<typeof BootAgentRegister>;

export const BootAgentChild = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128 }),
  version: Type.Optional(Type.String({ maxLength: 128 })),
  status: Type.String({ minLength: 1, maxLength: 32 }),
  uptime: Type.Optional(Type.Number({ minimum: 0, maximum: 1e10 })),
});
export type BootAgentChild = Static<typeof BootAgentChild>;

export const BootAgentJobResult = Type.Object({
  id: JobId,
  errcode: Type.Integer({ minimum: -2_147_483_648, maximum: 2_147_483_647 }),
  message: Type.Optional(Type.String({ maxLength: 4096 })),
});
export type BootAgentJobResult = Static<typeof BootAgentJobResult>;

export const BootAgentStatusReport = Type.Object({
  hostname: Hostname,
  agentsn: Type.Optional(AgentSn),
  version: Type.Optional(Type.String({ maxLength: 128 })),
  uptime: Type.Optional(Type.Number({ minimum: 0, maximum: 1e10 })),
  timestamp: Type.Optional(Type.Number({ minimum: 0, maximum: 1e13 })),
  step: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
  agents: Type.Optional(Type.Array(BootAgentChild, { maxItems: 256 })),
  jobs: Type.Optional(Type.Array(BootAgentJobResult, { maxItems: 256 })),
});
export type BootAgentStatusReport = Static<typeof BootAgentStatusReport>;

// ---- replies ----

export const BootAgentRegisterReply = Type.Object({
  status: Type.Integer(),
  agentsn: Type.String(),
  /** The node's labels as `k=v,k=v`. */
  tags: Type.String(),
});
export type BootAgentRegisterReply = Static<typeof BootAgentRegisterReply>;

export const BootAgentLimits = Type.Object({
  CPU: Type.Optional(Type.String({ pattern: '^[0-9]+%$', description: '100% = one core' })),
  memory: Type.Optional(Type.String({ pattern: '^[0-9]+M$' })),
});
export type BootAgentLimits = Static<typeof BootAgentLimits>;

export const BootAgentServiceJob = Type.Object({
  id: JobId,
  action: Type.Union(['install', 'upgrade', 'uninstall', 'restart', 'stop'].map((a) => Type.Literal(a))),
  name: Type.String(),
  /** install/upgrade only, as are the fields below. */
  url: Type.Optional(Type.String()),
  checksum: Type.Optional(Type.String({ pattern: `^SHA256:${SHA256_PATTERN.slice(1, -1)}$` })),
  /** Not in the seed's example: the version being installed, for devices that want it. */
  version: Type.Optional(Type.String()),
  envs: Type.Optional(Type.Record(Type.String(), Type.String())),
  limits: Type.Optional(BootAgentLimits),
});
export type BootAgentServiceJob = Static<typeof BootAgentServiceJob>;

export const BootAgentConfigJob = Type.Object({
  id: JobId,
  action: Type.Literal('config'),
  /** Servers to report to, `HOST:PORT,HOST:PORT` (added to the device's built-in list). */
  svrlist: Type.String(),
  /** Seconds between reports. */
  step: Type.Integer({ minimum: 1 }),
});
export type BootAgentConfigJob = Static<typeof BootAgentConfigJob>;

export const BootAgentJob = Type.Union([BootAgentServiceJob, BootAgentConfigJob]);
export type BootAgentJob = Static<typeof BootAgentJob>;

export const BootAgentStatusReply = Type.Object({ status: Type.Integer(), jobs: Type.Array(BootAgentJob) });
export type BootAgentStatusReply = Static<typeof BootAgentStatusReply>;

/** Every refusal: the seed's `status` (never 0) plus Steward's code and message. */
export const BootAgentRefusal = Type.Object({
  status: Type.Integer({ minimum: 1 }),
  code: Type.String(),
  message: Type.String(),
  agentsn: Type.Optional(Type.String()),
  issues: Type.Optional(Type.Array(Type.Object({ field: Type.String(), rule: Type.String() }))),
});
export type BootAgentRefusal = Static<typeof BootAgentRefusal>;
