import { LabelsSchema, NODE_NAME_PATTERN, Type, type Static } from '@steward/protocol';

export const AgentConfigSchema = Type.Object(
  {
    server: Type.String({ pattern: '^https?://[^\\s]+$', description: 'control plane URL, http(s)://host:port' }),
    enrollToken: Type.Optional(Type.String({ minLength: 1 })),
    name: Type.Optional(Type.String({ pattern: NODE_NAME_PATTERN })),
    labels: LabelsSchema,
    dataDir: Type.String({ minLength: 1 }),
    modules: Type.Array(Type.String({ pattern: '^[a-z][a-z0-9]*$' }), { uniqueItems: true }),
    logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
    capabilities: Type.Array(Type.String({ minLength: 1, maxLength: 100 })),
    heartbeatIntervalMs: Type.Integer({ minimum: 100, maximum: 3_600_000 }),
    reconnect: Type.Object(
      {
        initialDelayMs: Type.Integer({ minimum: 1 }),
        maxDelayMs: Type.Integer({ minimum: 1 }),
        keepaliveMs: Type.Integer({ minimum: 100, description: 'ping period; 3 unanswered → reconnect' }),
      },
      { additionalProperties: false },
    ),
    fs: Type.Object(
      { roots: Type.Array(Type.String({ minLength: 1 })), maxReadBytes: Type.Integer({ minimum: 1 }) },
      { additionalProperties: false },
    ),
    exec: Type.Object(
      {
        maxOutputBytes: Type.Integer({ minimum: 1 }),
        allowShell: Type.Boolean(),
      },
      { additionalProperties: false },
    ),
    /** Config sections of modules, by module name (YAML keys that name a module folder). */
    moduleSettings: Type.Record(Type.String({ pattern: '^[a-z][a-z0-9]*$' }), Type.Unknown()),
    /** Overrides what the agent reports about itself; for tests and simulations. */
    resources: Type.Object(
      {
        cpuCores: Type.Optional(Type.Integer({ minimum: 0 })),
        memoryBytes: Type.Optional(Type.Number({ minimum: 0 })),
        diskBytes: Type.Optional(Type.Number({ minimum: 0, description: 'free disk the task module reports' })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type AgentConfig = Static<typeof AgentConfigSchema>;
