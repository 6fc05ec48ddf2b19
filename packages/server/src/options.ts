import type { Limits } from './core/limits.js';

export interface ServerOptions {
  /** `HOST:PORT`; port 0 picks a free one. Default `127.0.0.1:7070`. */
  listen?: string;
  dataDir?: string;
  /** `postgres://…` for PostgreSQL; otherwise SQLite in the data dir. */
  db?: string;
  logLevel?: string;
  /** Where log lines (one JSON object each) go instead of stdout; `steward up` formats them on a terminal. */
  logStream?: { write(line: string): void };
  /** Node is offline after this long without a heartbeat. Default 45 s. */
  offlineAfterMs?: number;
  /** No node is marked offline this long after start (agents are on their way back); default 90 s. */
  startupGuardMs?: number;
  /** How long a closed connection may stay away before the node is offline. Default 10 s. */
  disconnectGraceMs?: number;
  /** Heartbeat interval handed to agents. Default 15 s. */
  heartbeatIntervalMs?: number;
  /** How often timers look for expired/timed-out commands and silent nodes. Default 1 s. */
  sweepIntervalMs?: number;
  /** Bounds against a hostile agent or client (frame size, rates, quotas, SSE streams, auth failures); each also `STEWARD_LIMIT_*`. See docs/security.md. */
  limits?: Partial<Limits>;
  /**
   * Serve HTTPS. Default: on when `listen` is not a loopback address (the control plane makes its
   * own CA and server certificate in the data dir), off on loopback. False off loopback needs `insecure`.
   */
  tls?: boolean;
  /** An operator's server certificate (PEM; a chain file ends with its CA) and key, instead of our own CA's ($STEWARD_TLS_CERT, $STEWARD_TLS_KEY). */
  tlsCert?: string;
  tlsKey?: string;
  /** More names or addresses for our own server certificate (a DNS name agents use, a public address). */
  tlsSans?: string[];
  /** Allows `tls: false` on a non-loopback address. */
  insecure?: boolean;
  /** Agents must present the client certificate they got at enrollment (mTLS) to connect. */
  requireClientCert?: boolean;
  /** Max request body in bytes. Default 1 MiB. */
  bodyLimit?: number;
  /**
   * Address ranges (`10.0.0.0/8`, `192.168.1.7`) whose devices of credential-less protocols
   * (Retire-Cluster, BootAgent) become nodes without an operator's approval. Default: none.
   */
  admitCidrs?: string[];
  /**
   * Address ranges webhooks may be delivered to although they are loopback, private or link-local
   * (refused by default against SSRF). Default: $STEWARD_WEBHOOK_ALLOW (comma-separated), else none.
   */
  webhookAllow?: string[];
  /** `HOST:PORT` of the BootAgent listener (`POST /agent/register`, `/agent/status`); off when unset. */
  bootagentListen?: string;
  /** `svrlist` handed to BootAgents in config jobs (`HOST:PORT` each); default: the address each device reached. */
  bootagentServers?: string[];
  /** `HOST:PORT` of the Retire-Cluster device gateway (TCP JSON; the protocol's port is 8080). Default: off. */
  retireClusterListen?: string;
  /** A Retire-Cluster device's whole message must arrive within this long. Default 10 s ($STEWARD_RETIRE_CLUSTER_MESSAGE_TIMEOUT_MS). */
  retireClusterMessageTimeoutMs?: number;
  /** Retire-Cluster connections open at once; more are refused. Default 256 ($STEWARD_RETIRE_CLUSTER_MAX_CONNECTIONS). */
  retireClusterMaxConnections?: number;
  /**
   * The Ed25519 key that signs commands to agents (PEM, PKCS#8). Default: `command-signing.key`
   * in the data dir, made on the first start. Replicas of one store must share it.
   */
  signingKeyFile?: string;
  /** How long session recordings are kept after the session ended: `90d`, `12h`; `0` or `off` keeps them forever. Default $STEWARD_SESSION_RETENTION, else 90d. */
  sessionRetention?: string;
  /** How long streamed command output is kept after the command finished: `30d`, `12h` (at least 1h); `0` or `off` keeps it forever. Default $STEWARD_OUTPUT_RETENTION, else 30d. */
  outputRetention?: string;
  /** A BackupX agent silent this long is disconnected (env STEWARD_BACKUPX_SILENCE_MS). Default 45 s, as BackupX. */
  backupxSilenceMs?: number;
}

export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:7070` (`https://` with TLS). */
  url: string;
  /** With TLS: the CA agents pin (`sha256:<hex>` of its SubjectPublicKeyInfo) and a PEM file local tools trust. */
  caPin?: string | null;
  caFile?: string | null;
  dataDir: string;
  adminTokenPath: string;
  /** True when this start created the admin token (first start). */
  adminTokenCreated: boolean;
  /** Stops accepting, closes agent sockets, drains in-flight requests, closes the store. */
  close(): Promise<void>;
}

export { ADMIN_TOKEN_FILE, ENDPOINT_FILE, localServerDataDir as defaultServerDataDir } from '@steward/protocol/node';
