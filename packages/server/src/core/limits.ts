import { envPositiveInt } from './env.js';

/**
 * Bounds on what one agent or one client may make the control plane hold or do. Each has a
 * ServerOptions field (`limits.<name>`), an environment variable, and a default sized for a
 * well-behaved fleet with room to spare; docs/security.md ("Limits") says what each stops.
 */
export interface Limits {
  /** Largest agent frame (WebSocket message) read; a larger one closes that connection with 1009. */
  agentFrameBytes: number;
  /** Agent messages awaiting handling on one connection before the server stops reading from it. */
  sessionQueue: number;
  /** Bytes of agent messages awaiting handling on one connection before the server stops reading from it. */
  sessionQueueBytes: number;
  /** Bytes queued for sending to one agent before dispatches to it wait (a slow reader). */
  agentSendBufferBytes: number;
  /** Heartbeats a node may send in a burst; refilled at `heartbeatsPerMinute`. */
  heartbeatBurst: number;
  heartbeatsPerMinute: number;
  /** Module events (`check.state`…) a node may send in a burst; refilled at `eventsPerMinute`. */
  eventBurst: number;
  eventsPerMinute: number;
  /** Dropped messages in one minute after which the node's connection is closed (4008). */
  abuseDropsPerMinute: number;
  /** Monitor checks of one node looked at per report; more are ignored. */
  checksPerNode: number;
  /** Open monitor alerts of one node; a check firing beyond it opens nothing (no webhook). */
  openAlertsPerNode: number;
  /** Bytes and count of artifacts one node may have uploaded. */
  artifactBytesPerNode: number;
  artifactsPerNode: number;
  /** Streamed output bytes stored per command; past it chunks are acknowledged but dropped (the command is marked truncated). */
  commandOutputBytes: number;
  /** Event streams (`GET /api/v1/events`) one token may hold open at once; one more gets 429. */
  sseStreamsPerToken: number;
  /** Unsent bytes of one event stream past which a slow reader's stream is dropped. */
  sseBufferBytes: number;
  /** Failed authentications from one source address in `authFailureWindowMs` before it gets 429s. */
  authFailures: number;
  authFailureWindowMs: number;
  /** Agent handshakes (upgrade to welcome) in progress at once; one more gets 503 `agents_busy` with `Retry-After`. */
  agentHandshakes: number;
  /** Agent connections accepted per second (token bucket, burst of one second's worth); past it the same 503. */
  agentAcceptsPerSecond: number;
  /**
   * Agent connections held at once; one more gets 503 `agents_busy` (`reason: capacity`). 0, the
   * default: the process's open-file limit minus a reserve for the API and the store (core/open-files.ts).
   */
  agentConnections: number;
  /**
   * Connections the kernel holds completed but not yet accepted (the listen backlog, capped by
   * `net.core.somaxconn`). Past it the kernel drops new connections' SYNs, and the client waits
   * its SYN retransmit (1, 3, 7, 15 s): in a reconnect storm that is where /healthz stalled.
   */
  listenBacklog: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = {
  agentFrameBytes: 4 * 1024 * 1024,
  sessionQueue: 256,
  // Streamed output comes in frames of up to a megabyte: a node bursting it waits in its own socket buffer.
  sessionQueueBytes: 1024 * 1024,
  agentSendBufferBytes: 8 * 1024 * 1024,
  // Ten a second sustained: far above any heartbeat interval in use (15 s by default, 1 s at least per node).
  heartbeatBurst: 30,
  heartbeatsPerMinute: 600,
  // Task output travels as module events, so these are generous; a flood of thousands a second is not.
  eventBurst: 1000,
  eventsPerMinute: 12_000,
  abuseDropsPerMinute: 1000,
  checksPerNode: 500,
  openAlertsPerNode: 100,
  artifactBytesPerNode: 20 * 1024 * 1024 * 1024,
  artifactsPerNode: 1000,
  commandOutputBytes: 8 * 1024 * 1024,
  sseStreamsPerToken: 8,
  sseBufferBytes: 4 * 1024 * 1024,
  authFailures: 20,
  authFailureWindowMs: 60_000,
  // A reconnect storm (10,000 agents after a restart) is let in at a pace one core keeps up with,
  // so /healthz and the API keep answering; refused agents wait the Retry-After they are given.
  agentHandshakes: 128,
  agentAcceptsPerSecond: 500,
  agentConnections: 0,
  // Node's default (511) overflowed in a 4,000-agent storm while the event loop stalled < 0.6 s.
  listenBacklog: 4096,
};

/** `agentFrameBytes` → `STEWARD_LIMIT_AGENT_FRAME_BYTES`. */
export function limitEnvName(key: keyof Limits): string {
  return `STEWARD_LIMIT_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** Each limit from the options, else its environment variable, else the default. */
export function limitsFrom(given: Partial<Limits> = {}): Limits {
  const out = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]) {
    out[key] = given[key] ?? envPositiveInt(limitEnvName(key)) ?? DEFAULT_LIMITS[key];
  }
  return out;
}
