import { Type, type Static } from '@sinclair/typebox';
import { SERVICE_STATES } from '../states.js';
import { SHA256_PATTERN } from './artifacts.js';
import { JobTarget } from './commands.js';
import { Id, Nullable, Timestamp } from './common.js';

/** Names become directory and cgroup names: no slashes, no leading dot. */
export const SERVICE_NAME_PATTERN = '^[a-z0-9][a-z0-9_-]{0,62}$';
export const SERVICE_VERSION_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$';
const ENV_NAME = '^[A-Za-z_][A-Za-z0-9_]*$';

export const ServiceStateSchema = Type.Union(SERVICE_STATES.map((s) => Type.Literal(s)));

export const ServiceArtifact = Type.Object(
  {
    url: Type.Optional(Type.String({ pattern: '^https?://\\S+$', maxLength: 4096, description: 'http(s) download; give this or artifactSha256' })),
    artifactSha256: Type.Optional(Type.String({ pattern: SHA256_PATTERN, description: "a file in the control plane's artifact store" })),
    sha256: Type.String({ pattern: SHA256_PATTERN, description: 'checked before anything is unpacked' }),
    format: Type.Optional(
      Type.Union([Type.Literal('tar.gz'), Type.Literal('file')], { description: 'default: tar.gz when the file starts with the gzip magic, else file' }),
    ),
    fileName: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._-]{1,100}$', description: 'name of a single-file artifact in the version dir (default: from the URL)' })),
  },
  { additionalProperties: false },
);
export type ServiceArtifact = Static<typeof ServiceArtifact>;

export const ServiceLimits = Type.Object(
  {
    memoryMB: Type.Optional(Type.Integer({ minimum: 4, maximum: 4_194_304 })),
    cpuPercent: Type.Optional(Type.Integer({ minimum: 1, maximum: 102_400, description: '100 = one core' })),
    pids: Type.Optional(Type.Integer({ minimum: 1, maximum: 4_194_304 })),
  },
  { additionalProperties: false },
);
export type ServiceLimits = Static<typeof ServiceLimits>;

export const FatalAfter = Type.Object(
  {
    crashes: Type.Integer({ minimum: 1, maximum: 1000, description: 'fatal when this many abnormal exits fall within withinMs' }),
    withinMs: Type.Integer({ minimum: 1, maximum: 30 * 86_400_000 }),
  },
  { additionalProperties: false },
);

export const RestartPolicy = Type.Object(
  {
    policy: Type.Optional(Type.Union([Type.Literal('always'), Type.Literal('on-failure'), Type.Literal('never')])),
    initialDelayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000 })),
    maxDelayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400_000 })),
    multiplier: Type.Optional(Type.Number({ minimum: 1, maximum: 10 })),
    resetAfterMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400_000, description: 'up this long → backoff starts over' })),
    fatalAfter: Type.Optional(FatalAfter),
  },
  { additionalProperties: false },
);
export type RestartPolicy = Static<typeof RestartPolicy>;

export const RESTART_DEFAULTS = {
  policy: 'always',
  initialDelayMs: 100,
  maxDelayMs: 15_000,
  multiplier: 1.5,
  resetAfterMs: 30_000,
  fatalAfter: { crashes: 5, withinMs: 60_000 },
} as const;

/** Health-check defaults: the start-up gate polls fast, the continuous check every 10 s. */
export const HEALTH_DEFAULTS = {
  intervalMs: 10_000,
  startPollMs: 250,
  timeoutMs: 1000,
  graceMs: 10_000,
  failuresBeforeUnhealthy: 3,
} as const;

export const HealthCheck = Type.Object(
  {
    tcp: Type.Optional(
      Type.Object({ port: Type.Integer({ minimum: 1, maximum: 65535 }), host: Type.Optional(Type.String({ maxLength: 255 })) }, { additionalProperties: false }),
    ),
    http: Type.Optional(
      Type.Object(
        { url: Type.String({ pattern: '^https?://\\S+$', maxLength: 4096 }), expectStatus: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })) },
        { additionalProperties: false },
      ),
    ),
    exec: Type.Optional(
      Type.Object(
        { command: Type.String({ minLength: 1, maxLength: 4096 }), args: Type.Optional(Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 256 })) },
        { additionalProperties: false },
      ),
    ),
    intervalMs: Type.Optional(
      Type.Integer({
        minimum: 10,
        maximum: 600_000,
        default: HEALTH_DEFAULTS.intervalMs,
        description: `probe interval while running; the start-up gate polls every min(intervalMs, ${HEALTH_DEFAULTS.startPollMs}) ms`,
      }),
    ),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 600_000, default: HEALTH_DEFAULTS.timeoutMs })),
    graceMs: Type.Optional(
      Type.Integer({
        minimum: 10,
        maximum: 3_600_000,
        default: HEALTH_DEFAULTS.graceMs,
        description: 'the start period: must pass within this after start; failures before the first pass do not count towards unhealthy',
      }),
    ),
    failuresBeforeUnhealthy: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        default: HEALTH_DEFAULTS.failuresBeforeUnhealthy,
        description: 'consecutive failed probes while running that make the service unhealthy (it is then killed and restarted under its restart policy)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type HealthCheck = Static<typeof HealthCheck>;

const specFields = {
  version: Type.String({ pattern: SERVICE_VERSION_PATTERN }),
  artifact: ServiceArtifact,
  command: Type.String({ minLength: 1, maxLength: 4096, description: 'program; relative paths are inside the version dir' }),
  args: Type.Optional(Type.Array(Type.String({ maxLength: 65536 }), { maxItems: 1024 })),
  // Values are secret (writeOnly): shown redacted wherever a payload is shown.
  env: Type.Optional(Type.Record(Type.String({ pattern: ENV_NAME }), Type.String({ maxLength: 65536, writeOnly: true }), { additionalProperties: false, maxProperties: 256 })),
  workingDir: Type.Optional(Type.String({ pattern: '^/', maxLength: 4096, description: 'absolute; default the version dir' })),
  limits: Type.Optional(ServiceLimits),
  restart: Type.Optional(RestartPolicy),
  health: Type.Optional(HealthCheck),
  stopSignal: Type.Optional(Type.Union(['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'].map((s) => Type.Literal(s)))),
  stopTimeoutMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000, description: 'then SIGKILL (default 5000)' })),
  priority: Type.Optional(
    Type.Integer({ minimum: -1000, maximum: 1000, description: 'start order after an agent restart or reboot: lower starts first (default 0)' }),
  ),
  after: Type.Optional(
    Type.Array(Type.String({ pattern: SERVICE_NAME_PATTERN }), {
      maxItems: 64,
      uniqueItems: true,
      description: 'services started (and healthy, or past their graceMs) before this one after an agent restart or reboot; a cycle is refused',
    }),
  ),
};

/** What runs on a node: the spec without its target. Sent to agents in `service.apply`. */
export const ServiceRunSpec = Type.Object({ name: Type.String({ pattern: SERVICE_NAME_PATTERN }), ...specFields }, { additionalProperties: false });
export type ServiceRunSpec = Static<typeof ServiceRunSpec>;

/** Body of `PUT /api/v1/services/:name`. */
export const ServicePut = Type.Object({ ...specFields, target: JobTarget }, { additionalProperties: false });
export type ServicePut = Static<typeof ServicePut>;

export const ServiceNameParams = Type.Object({ name: Type.String({ pattern: SERVICE_NAME_PATTERN }) });
export type ServiceNameParams = Static<typeof ServiceNameParams>;

export const ServiceOutcome = Type.Object({
  kind: Type.Union(['installed', 'unchanged', 'rolled_back', 'install_failed', 'start_failed'].map((s) => Type.Literal(s))),
  version: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  at: Timestamp,
});
export type ServiceOutcome = Static<typeof ServiceOutcome>;

export const ServiceExit = Type.Object({
  at: Timestamp,
  code: Type.Union([Type.Integer(), Type.Null()]),
  signal: Type.Union([Type.String(), Type.Null()]),
  reason: Type.String(),
  /** How long the supervisor waited before the next start (null: no restart). */
  delayMs: Type.Union([Type.Integer(), Type.Null()]),
});
export type ServiceExit = Static<typeof ServiceExit>;

export const LimitsMode = Type.Union([Type.Literal('cgroup2'), Type.Literal('cgroup1'), Type.Literal('degraded'), Type.Literal('none')]);
export type LimitsMode = Static<typeof LimitsMode>;

/** One service on one node as its agent reports it (hello, heartbeat, `service.state` event). */
export const ServiceNodeReport = Type.Object({
  name: Type.String({ pattern: SERVICE_NAME_PATTERN }),
  revision: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  version: Type.Union([Type.String(), Type.Null()], { description: 'the version installed and current' }),
  state: ServiceStateSchema,
  pid: Type.Union([Type.Integer(), Type.Null()]),
  startedAt: Type.Union([Timestamp, Type.Null()]),
  restarts: Type.Integer({ minimum: 0 }),
  reason: Type.Union([Type.String(), Type.Null()]),
  lastOutcome: Type.Union([ServiceOutcome, Type.Null()]),
  limits: LimitsMode,
  /** The latest exits, oldest first (at most 20): the backoff sequence is visible here. */
  exits: Type.Array(ServiceExit, { maxItems: 50 }),
});
export type ServiceNodeReport = Static<typeof ServiceNodeReport>;

/** The `service` module's heartbeat report. */
export const ServiceModuleReport = Type.Object({
  limits: LimitsMode,
  services: Type.Array(ServiceNodeReport, { maxItems: 10_000 }),
});
export type ServiceModuleReport = Static<typeof ServiceModuleReport>;

/** Per node, as the API shows it. */
export const ServiceNodeStatus = Type.Object({
  nodeId: Id,
  nodeName: Type.String(),
  revision: Nullable(Type.Integer()),
  version: Nullable(Type.String()),
  state: ServiceStateSchema,
  pid: Nullable(Type.Integer()),
  startedAt: Nullable(Timestamp),
  uptimeMs: Nullable(Type.Integer()),
  restarts: Type.Integer(),
  reason: Nullable(Type.String()),
  lastOutcome: Nullable(ServiceOutcome),
  limits: Type.String(),
  exits: Type.Array(ServiceExit),
  updatedAt: Timestamp,
});
export type ServiceNodeStatus = Static<typeof ServiceNodeStatus>;

export const Service = Type.Object({
  name: Type.String(),
  revision: Type.Integer({ description: 'bumped by every PUT that changes the spec' }),
  spec: ServicePut,
  createdAt: Timestamp,
  updatedAt: Timestamp,
  /** Nodes the target selects now. */
  targeted: Type.Integer(),
  nodes: Type.Array(ServiceNodeStatus),
});
export type Service = Static<typeof Service>;

// ---- agent commands of the `service` module ----

export const ServiceApplyPayload = Type.Object(
  { revision: Type.Integer({ minimum: 0 }), spec: ServiceRunSpec },
  { additionalProperties: false },
);
export type ServiceApplyPayload = Static<typeof ServiceApplyPayload>;

export const ServiceNamePayload = Type.Object({ name: Type.String({ pattern: SERVICE_NAME_PATTERN }) }, { additionalProperties: false });
export type ServiceNamePayload = Static<typeof ServiceNamePayload>;

export const ServiceLogsPayload = Type.Object(
  {
    name: Type.String({ pattern: SERVICE_NAME_PATTERN }),
    offset: Type.Optional(Type.Integer({ minimum: 0, description: 'read from here; omitted: the last maxBytes' })),
    maxBytes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_048_576 })),
    follow: Type.Optional(
      Type.Boolean({
        description:
          'stream the tail and then every new byte as command output (stdout) until cancelled or shortly before the timeout; the result is then a ServiceLogsFollowResult',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ServiceLogsPayload = Static<typeof ServiceLogsPayload>;

/** What a `service.logs` command with `follow` returns once it stops following (its output is in the stream). */
export const ServiceLogsFollowResult = Type.Object({
  /** Bytes of the log written to the command's output. */
  bytes: Type.Integer({ minimum: 0 }),
  /** Where the next read of the log starts. */
  offset: Type.Integer({ minimum: 0 }),
  /** Why it stopped: near the command's timeout, the agent's stream cap was reached, or the service was removed. */
  ended: Type.Union([Type.Literal('timeout'), Type.Literal('cap'), Type.Literal('removed')]),
});
export type ServiceLogsFollowResult = Static<typeof ServiceLogsFollowResult>;

export const ServiceLogsResult = Type.Object({
  data: Type.String(),
  /** Where the next read starts; pass it back as `offset` to follow. */
  offset: Type.Integer(),
  size: Type.Integer(),
});
export type ServiceLogsResult = Static<typeof ServiceLogsResult>;

export const ServiceLogsQuery = Type.Object({
  node: Type.String({ minLength: 1, maxLength: 200 }),
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
  maxBytes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_048_576 })),
});
export type ServiceLogsQuery = Static<typeof ServiceLogsQuery>;

export const ServiceActionBody = Type.Object({ node: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
export type ServiceActionBody = Static<typeof ServiceActionBody>;
