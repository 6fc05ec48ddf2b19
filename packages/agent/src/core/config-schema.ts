import { LabelsSchema, NODE_NAME_PATTERN, Type, type Static } from '@steward/protocol';

/** `HOST:PORT`, an IPv6 host in brackets (`[::1]:8600`). */
export const LISTEN_PATTERN = '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):([1-9][0-9]{0,4})$';

/** The inbound API MediaStack controllers call (`steward agent --listen`); off when absent. */
export const InboundSchema = Type.Object(
  {
    listen: Type.String({ pattern: LISTEN_PATTERN, description: 'HOST:PORT to serve the inbound API on' }),
    apiKey: Type.Optional(Type.String({ minLength: 16, description: 'the X-API-KEY callers must send' })),
    apiKeyFile: Type.Optional(Type.String({ minLength: 1, description: 'a file holding the key (first line)' })),
    hmacSecret: Type.Optional(Type.String({ minLength: 16, description: 'when set, requests must carry X-Timestamp and X-Signature' })),
    allowFrom: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'source addresses or CIDRs allowed to call; all when absent' })),
    maxWaitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000, description: 'how long a POST waits for its command before answering 202 (30000)' })),
  },
  { additionalProperties: false },
);

/** The MediaStack node heartbeat, POSTed to a controller; off when absent. */
export const MediastackHeartbeatSchema = Type.Object(
  {
    url: Type.String({ pattern: '^https?://[^\\s]+$', description: "the controller's heartbeat URL" }),
    intervalMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000, description: 'between posts (60000)' })),
    nodeId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "node_id to report; the Steward node id when absent" })),
  },
  { additionalProperties: false },
);

export type InboundSettings = Static<typeof InboundSchema>;
export type MediastackHeartbeatSettings = Static<typeof MediastackHeartbeatSchema>;

export const AgentConfigSchema = Type.Object(
  {
    /** The first entry of `servers`, kept for what reads one URL (the enrollment record). */
    server: Type.String({ pattern: '^https?://[^\\s]+$', description: 'control plane URL, http(s)://host:port' }),
    /** Control-plane URLs in the order they are dialled; the agent moves to the next when one fails. */
    servers: Type.Array(Type.String({ pattern: '^https?://[^\\s]+$' }), { minItems: 1, maxItems: 16, description: 'control plane URLs, tried in order' }),
    /** The local list wins over a pushed one: set by `--server`, or by the file's `keepLocal: [servers]`. */
    serversPinned: Type.Optional(Type.Boolean()),
    enrollToken: Type.Optional(Type.String({ minLength: 1 })),
    /** The control plane CA's pin, `sha256:<hex>` of its SubjectPublicKeyInfo (`steward enroll create` prints it). */
    caSha256: Type.Optional(Type.String({ pattern: '^(sha256:)?[0-9a-fA-F]{64}$' })),
    /** A PEM CA bundle to trust for the control plane (an operator's PKI), instead of a pin. */
    caFile: Type.Optional(Type.String({ minLength: 1 })),
    /** Allows http:// or an unpinned https:// to a non-loopback control plane. */
    insecure: Type.Boolean(),
    name: Type.Optional(Type.String({ pattern: NODE_NAME_PATTERN })),
    labels: LabelsSchema,
    dataDir: Type.String({ minLength: 1 }),
    /** Plugins: one folder per plugin module, loaded and unloaded as they change (default `<dataDir>/plugins`). */
    pluginsDir: Type.String({ minLength: 1 }),
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
        /** Streamed output kept per command (journaled and sent); past it one notice and the rest dropped. */
        maxStreamBytes: Type.Optional(Type.Integer({ minimum: 1 })),
        allowShell: Type.Boolean(),
      },
      { additionalProperties: false },
    ),
    /** Config sections of modules, by module name (YAML keys that name a module folder). */
    moduleSettings: Type.Record(Type.String({ pattern: '^[a-z][a-z0-9]*$' }), Type.Unknown()),
    inbound: Type.Optional(InboundSchema),
    mediastackHeartbeat: Type.Optional(MediastackHeartbeatSchema),
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
