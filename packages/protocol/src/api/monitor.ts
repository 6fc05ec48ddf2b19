import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { CHECK_STATES } from '../states.js';
import { Timestamp } from './common.js';

/** Check ids appear in alert keys (`monitor:<node>:<check>`), so they stay plain. */
export const CHECK_ID_PATTERN = '^[a-z0-9][a-z0-9_.-]*$';
export const CheckStateSchema = Type.Union(CHECK_STATES.map((s) => Type.Literal(s)));
export const SeveritySchema = Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')]);
export type Severity = Static<typeof SeveritySchema>;

/** Absolute path without NUL; a check reads it, never writes. */
const AbsPath = Type.String({ pattern: '^/[^\\u0000]*$', maxLength: 4096 });

const common = {
  id: Type.String({ pattern: CHECK_ID_PATTERN, minLength: 1, maxLength: 64, description: 'unique on the node' }),
  intervalMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 86_400_000, default: 30_000, description: 'time between probes' })),
  failuresBeforeFiring: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 1000, default: 3, description: 'failures in a row before the alert fires' }),
  ),
  successesBeforeResolving: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 1000, default: 2, description: 'successes in a row before it resolves' }),
  ),
  severity: Type.Optional(SeveritySchema),
};
const timeoutMs = Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000, default: 5000 }));

function kind<K extends string, P extends Record<string, TSchema>>(name: K, props: P, description: string) {
  return Type.Object({ kind: Type.Literal(name), ...common, ...props }, { additionalProperties: false, description });
}

export const DiskCheck = kind(
  'disk',
  {
    mounts: Type.Optional(Type.Array(AbsPath, { minItems: 1, maxItems: 100, description: 'default: every real filesystem' })),
    maxUsedPercent: Type.Number({ exclusiveMinimum: 0, maximum: 100, description: 'fails when a mount is fuller than this' }),
  },
  'disk usage per mount over a threshold',
);

export const ProcessCheck = kind(
  'process',
  {
    name: Type.Optional(Type.String({ pattern: '^[^/\\u0000]+$', minLength: 1, maxLength: 255, description: 'process name (comm or argv[0] basename)' })),
    pidFile: Type.Optional(AbsPath),
  },
  'a process alive, by name or by pid file (both: the pid must also have that name)',
);

export const TcpCheck = kind(
  'tcp',
  {
    host: Type.String({ minLength: 1, maxLength: 255 }),
    port: Type.Integer({ minimum: 1, maximum: 65_535 }),
    timeoutMs,
  },
  'a TCP connect succeeds',
);

/** `expectStatus` is one code or an inclusive [min, max] range. */
export const ExpectStatus = Type.Union([
  Type.Integer({ minimum: 100, maximum: 599 }),
  Type.Tuple([Type.Integer({ minimum: 100, maximum: 599 }), Type.Integer({ minimum: 100, maximum: 599 })]),
]);

export const HttpCheck = kind(
  'http',
  {
    url: Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2048 }),
    method: Type.Optional(Type.Union([Type.Literal('GET'), Type.Literal('HEAD')])),
    expectStatus: Type.Optional(ExpectStatus),
    timeoutMs,
  },
  'an HTTP request answers with the expected status (default 200–399); redirects are not followed',
);

export const CHECK_PRESETS = ['nginx-alive', 'pure-ftpd-alive'] as const;
export type CheckPresetName = (typeof CHECK_PRESETS)[number];

/** A named check with sensible defaults: a process check on the daemon (its pid file when given). */
export const PresetCheck = Type.Object(
  {
    preset: Type.Union(CHECK_PRESETS.map((p) => Type.Literal(p))),
    id: Type.Optional(common.id),
    intervalMs: common.intervalMs,
    failuresBeforeFiring: common.failuresBeforeFiring,
    successesBeforeResolving: common.successesBeforeResolving,
    severity: Type.Optional(SeveritySchema),
    pidFile: Type.Optional(AbsPath),
  },
  { additionalProperties: false, description: 'nginx-alive / pure-ftpd-alive' },
);

/** What a check is once presets are expanded; what the agent runs. */
export const CheckSpec = Type.Union([DiskCheck, ProcessCheck, TcpCheck, HttpCheck]);
export type CheckSpec = Static<typeof CheckSpec>;
export type PresetCheck = Static<typeof PresetCheck>;

/** What config and `monitor.checks.set` accept: a check or a preset. */
export const CheckInput = Type.Union([DiskCheck, ProcessCheck, TcpCheck, HttpCheck, PresetCheck]);
export type CheckInput = Static<typeof CheckInput>;

export const MonitorChecksSetPayload = Type.Object(
  { checks: Type.Array(CheckInput, { maxItems: 500 }) },
  { additionalProperties: false },
);
export type MonitorChecksSetPayload = Static<typeof MonitorChecksSetPayload>;

export const ChecksSource = Type.Union([Type.Literal('config'), Type.Literal('control-plane')]);
export type ChecksSource = Static<typeof ChecksSource>;

/** A check's current state as the agent reports it. */
export const CheckStatus = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  severity: SeveritySchema,
  state: CheckStateSchema,
  failures: Type.Integer({ minimum: 0 }),
  successes: Type.Integer({ minimum: 0 }),
  since: Timestamp,
  // A real union, not Nullable: agent messages are checked with TypeBox's compiler, which has no `nullable`.
  lastRunAt: Type.Union([Timestamp, Type.Null()]),
  message: Type.String({ description: 'what the last probe saw' }),
  summary: Type.String({ description: 'what the check watches, for people' }),
});
export type CheckStatus = Static<typeof CheckStatus>;

/** `modules.monitor` in hello and heartbeat: every check's state, so lost events are repaired. */
export const MonitorReport = Type.Object({
  source: ChecksSource,
  checks: Type.Array(CheckStatus),
});
export type MonitorReport = Static<typeof MonitorReport>;

/** `module.event` `check.state`: a check started or stopped firing. */
export const CheckStateEventData = Type.Object({
  check: CheckStatus,
  transition: Type.Union([Type.Literal('fired'), Type.Literal('resolved')]),
  reason: Type.Optional(Type.String()),
});
export type CheckStateEventData = Static<typeof CheckStateEventData>;

/** The agent's `monitor:` config section. */
export const MonitorSettings = Type.Object(
  { checks: Type.Array(CheckInput, { maxItems: 500, default: [] }) },
  { additionalProperties: false },
);
export type MonitorSettings = Static<typeof MonitorSettings>;

export const MonitorChecksResult = Type.Object({
  changed: Type.Boolean(),
  source: ChecksSource,
  checks: Type.Array(CheckStatus),
});
export type MonitorChecksResult = Static<typeof MonitorChecksResult>;
