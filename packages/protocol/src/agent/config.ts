import { Type, type Static } from '@sinclair/typebox';
import { CommandTypeInfo } from '../api/inventory.js';
import { Timestamp } from '../api/common.js';

/**
 * Desired agent configuration pushed by the control plane (issue 15). Every key is optional: a key
 * absent here leaves the agent's local value (file, env, defaults) in force. Things that cannot change
 * while the agent runs (data dir, name, enrollment, inbound listen address) are deliberately not here.
 */

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const MODULE_NAME_PATTERN = '^[a-z][a-z0-9]*$';
/** A full module list entry, or `+name` / `-name`: a change to the agent's local list (same rule as its YAML). */
export const MODULE_LIST_ENTRY_PATTERN = '^[+-]?[a-z][a-z0-9]*$';
export const SERVER_URL_PATTERN = '^https?://[^\\s]+$';
export const CONFIG_REVISION_PATTERN = '^[0-9a-f]{16}$';
export const MIN_PUSHED_HEARTBEAT_MS = 1000;
export const MAX_PUSHED_HEARTBEAT_MS = 3_600_000;

export const PushedPlugin = Type.Object(
  {
    name: Type.String({ pattern: MODULE_NAME_PATTERN, maxLength: 64 }),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the plugin artifact in the artifact store' }),
  },
  { additionalProperties: false },
);
export type PushedPlugin = Static<typeof PushedPlugin>;

export const PushedConfigSchema = Type.Object(
  {
    heartbeatIntervalMs: Type.Optional(
      Type.Integer({ minimum: MIN_PUSHED_HEARTBEAT_MS, maximum: MAX_PUSHED_HEARTBEAT_MS }),
    ),
    logLevel: Type.Optional(Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)))),
    servers: Type.Optional(
      Type.Array(Type.String({ pattern: SERVER_URL_PATTERN, maxLength: 2000 }), {
        minItems: 1,
        maxItems: 16,
        description: 'control-plane URLs, dialled in order',
      }),
    ),
    fs: Type.Optional(
      Type.Object(
        {
          roots: Type.Optional(
            Type.Array(Type.String({ pattern: '^/', maxLength: 4096 }), { minItems: 1, maxItems: 64 }),
          ),
          maxReadBytes: Type.Optional(Type.Integer({ minimum: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
    exec: Type.Optional(
      Type.Object(
        {
          maxOutputBytes: Type.Optional(Type.Integer({ minimum: 1 })),
          maxStreamBytes: Type.Optional(Type.Integer({ minimum: 1 })),
          allowShell: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
    capabilities: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 1024 })),
    modules: Type.Optional(
      Type.Array(Type.String({ pattern: MODULE_LIST_ENTRY_PATTERN, maxLength: 64 }), { maxItems: 256 }),
    ),
    moduleSettings: Type.Optional(
      Type.Record(Type.String({ pattern: MODULE_NAME_PATTERN }), Type.Unknown(), {
        description: "a module's settings section (e.g. monitor: {checks: [...]}), checked by the agent against the module's schema",
      }),
    ),
    plugins: Type.Optional(Type.Array(PushedPlugin, { maxItems: 64 })),
  },
  { additionalProperties: false },
);
export type PushedConfig = Static<typeof PushedConfigSchema>;

export const ConfigRevision = Type.String({ pattern: CONFIG_REVISION_PATTERN });

// The revision of an effective config is computed by `configRevision` in `@steward/protocol/node`.

export const CONFIG_APPLY_STATES = ['applied', 'rejected'] as const;
export type ConfigApplyState = (typeof CONFIG_APPLY_STATES)[number];

export const ConfigFieldIssue = Type.Object({
  field: Type.String({ maxLength: 500 }),
  rule: Type.String({ maxLength: 500 }),
});

// ---- control plane → agent ----

/**
 * The node's effective pushed config. Sent right after `welcome` (with `config: {}` when no document
 * targets the node: "no pushed config") and whenever the effective config changes.
 */
export const ConfigDesiredMessage = Type.Object({
  type: Type.Literal('config.desired'),
  revision: ConfigRevision,
  config: PushedConfigSchema,
});
export type ConfigDesiredMessage = Static<typeof ConfigDesiredMessage>;

// ---- agent → control plane ----

/** What the agent did with a `config.desired` (also `applied` again when the revision was already in force). */
export const ConfigStatusMessage = Type.Object({
  type: Type.Literal('config.status'),
  revision: ConfigRevision,
  state: Type.Union(CONFIG_APPLY_STATES.map((s) => Type.Literal(s))),
  reason: Type.Optional(Type.String({ maxLength: 2000 })),
  issues: Type.Optional(Type.Array(ConfigFieldIssue, { maxItems: 100 })),
  at: Timestamp,
});
export type ConfigStatusMessage = Static<typeof ConfigStatusMessage>;

/**
 * The agent's command catalog changed at run time (module on/off, plugin load/unload), or the
 * capabilities it offers (a pushed `capabilities`): taken like the same fields of a hello.
 */
export const CatalogUpdateMessage = Type.Object({
  type: Type.Literal('catalog.update'),
  commandTypes: Type.Array(CommandTypeInfo, { maxItems: 1024 }),
  modules: Type.Array(Type.String(), { maxItems: 256 }),
  /** Detected and configured capabilities (task placement); absent: unchanged. */
  capabilities: Type.Optional(Type.Array(Type.String(), { maxItems: 1024 })),
});
export type CatalogUpdateMessage = Static<typeof CatalogUpdateMessage>;
