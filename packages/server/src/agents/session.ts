import {
  AgentMessage,
  AGENT_PROTOCOL_VERSION,
  agentAccepts,
  formatProtocolVersion,
  issuesOf,
  parseProtocolVersion,
  protocolSkew,
  PROTOCOL_UNSUPPORTED,
  PROTOCOL_UNSUPPORTED_CLOSE,
  type ProtocolVersion,
  type HeartbeatMessage,
  type HelloMessage,
  type ServerMessage,
} from '@steward/protocol';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { NodeRateLimiter } from './rate-limits.js';
import type { Channel } from './transport.js';
import { wire } from './wire.js';

/** One validator per message type, so an error names the field, not just "not a union member". */
const byType = new Map(
  AgentMessage.anyOf.map((schema) => [schema.properties.type.const as string, TypeCompiler.Compile(schema)] as const),
);

/** What bounds one session: its queue, the node's message rates, and where drops are counted. */
export interface SessionLimits {
  /** Messages awaiting handling before the session stops reading; twice this and messages are dropped. */
  queue: number;
  /** Bytes of messages awaiting handling before the session stops reading (output streams send big frames). */
  queueBytes: number;
  meter: NodeRateLimiter;
  /** `steward_agent_messages_dropped_total{reason}`. */
  dropped: Counter<'reason'>;
  now: () => number;
}

const SERVER_PROTOCOL = parseProtocolVersion(AGENT_PROTOCOL_VERSION)!;

/** An authenticated agent's hello named a protocol version this control plane does not serve. */
export interface VersionRefusal {
  agentProtocol: string;
  serverProtocol: string;
  verdict: 'agent_too_old' | 'agent_too_new';
}

/** Close code (1013 "try again later") when a hello could not be served (the store did not answer). */
const HELLO_FAILED_CLOSE = 1013;

/** ws's error for a frame over `maxPayload`; it then closes the socket with 1009. */
const FRAME_TOO_LARGE = 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';

/** What a session hands to the control plane; implemented by AgentGateway. */
export interface SessionHandlers {
  hello(session: AgentSession, msg: HelloMessage): Promise<void>;
  heartbeat(session: AgentSession, msg: HeartbeatMessage): Promise<void>;
  started(session: AgentSession, commandId: string): Promise<void>;
  result(session: AgentSession, msg: Extract<AgentMessage, { type: 'command.result' }>): Promise<void>;
  progress(session: AgentSession, msg: Extract<AgentMessage, { type: 'command.progress' }>): Promise<void>;
  reported(session: AgentSession, msg: Extract<AgentMessage, { type: 'command.reported' }>): Promise<void>;
  moduleEvent(session: AgentSession, msg: Extract<AgentMessage, { type: 'module.event' }>): Promise<void>;
  credentialRotated(session: AgentSession, msg: Extract<AgentMessage, { type: 'credential.rotated' }>): Promise<void>;
  output(session: AgentSession, msg: Extract<AgentMessage, { type: 'command.output' }>): Promise<void>;
  recent(session: AgentSession, msg: Extract<AgentMessage, { type: 'command.recent' }>): Promise<void>;
  configStatus(session: AgentSession, msg: Extract<AgentMessage, { type: 'config.status' }>): Promise<void>;
  catalogUpdate(session: AgentSession, msg: Extract<AgentMessage, { type: 'catalog.update' }>): Promise<void>;
  /** The hello's version is out of range; recorded on the node before the connection closes. */
  versionRefused(session: AgentSession, refusal: VersionRefusal): Promise<void>;
  closed(session: AgentSession): Promise<void>;
}

/**
 * One agent's connection, whatever its transport. Every message is validated; a bad one gets an `error` reply and the
 * connection stays up, because one malformed message must not cost the node its link.
 */
export class AgentSession {
  /** True after hello: dispatches before it would race the agent's own start-up. */
  ready = false;
  /** The version the agent's hello named; until then only version-independent messages go out. */
  protocol: ProtocolVersion | null = null;
  /** The hello said the agent fences its tasks: its stored heartbeats are acknowledged (core/task-fence.ts). */
  fencing = false;
  private chain: Promise<void> = Promise.resolve();
  /** Messages enqueued and not handled yet, and their size. */
  private pending = 0;
  private pendingBytes = 0;
  private paused = false;
  /** Set once the server closed the connection: frames still in flight are not handled. */
  private closing = false;
  /** Resolves once the socket closed and every message before it was handled. */
  readonly done: Promise<void>;
  /** The admission slot of this connection's handshake (agents/admission.ts): freed once the hello was served or the socket closed. */
  handshake: { release(): void } | null = null;
  private markDone!: () => void;

  constructor(
    readonly nodeId: string,
    readonly connectionId: string,
    private readonly channel: Channel,
    private readonly handlers: SessionHandlers,
    private readonly log: Logger,
    private readonly limits: SessionLimits,
  ) {
    this.done = new Promise((r) => (this.markDone = r));
    channel.listen({
      frame: (data, isBinary) => this.onMessage(data, isBinary),
      closed: () => {
        this.ready = false;
        this.releaseHandshake();
        // After queued messages, so a result that arrived before the close is stored first.
        this.enqueue(() => this.handlers.closed(this));
        this.enqueue(async () => this.markDone());
      },
      error: (err) => {
        if ((err as NodeJS.ErrnoException).code !== FRAME_TOO_LARGE) return this.log.warn({ err, nodeId }, 'agent connection error');
        limits.dropped.inc({ reason: 'frame_size' });
        this.log.warn({ nodeId, connectionId }, 'agent sent a frame over the size limit; its connection was closed (1009)');
      },
    });
  }

  /**
   * The handshake is over once the agent was welcomed: its admission slot goes to the next agent
   * while this hello's remaining work (recording the config sent, pending commands, module
   * reports) goes on. Held until then, a slot's time was a whole hello's round trips through the
   * store, and the storm was admitted no faster than `agentHandshakes` per hello time.
   */
  welcomed(): void {
    this.releaseHandshake();
  }

  private releaseHandshake(): void {
    this.handshake?.release();
    this.handshake = null;
  }

  /** Resolves once every message received so far was handled (a pull transport answers after its heartbeat took effect). */
  settled(): Promise<void> {
    return this.chain;
  }

  /**
   * Sends a message, unless the agent's protocol version predates its type (an agent one minor
   * older is served, but must not get a message it would refuse): then nothing goes out and the
   * answer is false, as for a closed connection.
   */
  send(msg: ServerMessage): boolean {
    if (this.protocol && !agentAccepts(this.protocol, msg.type)) {
      this.log.debug({ nodeId: this.nodeId, type: msg.type, agentProtocol: formatProtocolVersion(this.protocol) }, 'not sent: the agent\'s protocol version predates this message type');
      return false;
    }
    return this.channel.send(JSON.stringify(msg));
  }

  close(code: number, reason: string): void {
    this.ready = false;
    this.closing = true;
    this.channel.close(code, reason);
  }

  terminate(): void {
    this.channel.terminate();
  }

  private reject(code: string, message: string, details?: unknown): void {
    this.log.warn({ nodeId: this.nodeId, code, message }, 'refused an agent message');
    this.send(wire.error(code, message, details));
  }

  private onMessage(data: string | Buffer, isBinary: boolean): void {
    if (this.closing) return;
    if (isBinary) return this.reject('malformed_message', 'binary frames are not part of the protocol');
    let parsed: unknown;
    try {
      parsed = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
    } catch {
      return this.reject('malformed_message', 'message is not valid JSON');
    }
    const type = (parsed as { type?: unknown } | null)?.type;
    if (type === 'heartbeat' || type === 'module.event') {
      const verdict = this.limits.meter.admit(this.nodeId, type === 'heartbeat' ? 'heartbeat' : 'event', this.limits.now());
      if (verdict === 'close') {
        this.log.warn({ nodeId: this.nodeId }, 'closing the connection of a node that keeps sending over its rate limit');
        return this.close(4008, 'rate limit exceeded');
      }
      // Dropped without an answer: a reply per dropped message would be a flood of our own.
      if (verdict === 'drop') return;
    }
    if (this.pending >= 2 * this.limits.queue) {
      this.limits.dropped.inc({ reason: 'queue_full' });
      return this.reject('overloaded', 'too many messages are waiting to be handled; this one was dropped (send it again later)');
    }
    // The version is read before the hello is validated: a hello of another version may have
    // another shape, and must get a refusal that says so, not a validation error.
    if (type === 'hello' && this.refusedVersion((parsed as { protocol?: unknown }).protocol)) return;
    const check = typeof type === 'string' ? byType.get(type) : undefined;
    if (!check) {
      return this.reject('invalid_message', `type: must be one of ${[...byType.keys()].join(', ')}`, {
        issues: [{ field: 'type', rule: `one of ${[...byType.keys()].join(', ')}` }],
      });
    }
    if (!check.Check(parsed)) {
      const issues = issuesOf(check, parsed);
      return this.reject('invalid_message', `invalid ${type} message: ${issues.map((i) => `${i.field}: ${i.rule}`).join('; ')}`, { issues });
    }
    const msg = parsed as AgentMessage;
    if (msg.type !== 'hello' && !this.ready) return this.reject('hello_required', 'send hello first');
    // Messages of one agent are handled in order: a result never overtakes its start.
    this.enqueueBounded(data.length, async () => {
      switch (msg.type) {
        case 'hello':
          this.protocol = parseProtocolVersion(msg.protocol);
          try {
            await this.handlers.hello(this, msg);
          } catch (err) {
            // Without a served hello the session would stay open but useless (every later message
            // refused): the agent is sent away to dial again, when the store (say) is back.
            this.log.warn({ err, nodeId: this.nodeId }, 'hello failed; closing the connection so the agent dials again');
            this.close(HELLO_FAILED_CLOSE, 'hello failed; try again');
          } finally {
            // Sent away (or welcomed, and freed already): the next agent may start its handshake.
            this.releaseHandshake();
          }
          return;
        case 'heartbeat':
          return this.handlers.heartbeat(this, msg);
        case 'command.started':
          // Stored even when its result is already queued behind it: every state a command
          // passes through is an event (the dashboard's steps, webhooks filtered by state).
          return this.handlers.started(this, msg.commandId);
        case 'command.result':
          return this.handlers.result(this, msg);
        case 'command.progress':
          return this.handlers.progress(this, msg);
        case 'command.reported':
          return this.handlers.reported(this, msg);
        case 'module.event':
          return this.handlers.moduleEvent(this, msg);
        case 'credential.rotated':
          return this.handlers.credentialRotated(this, msg);
        case 'command.output':
          return this.handlers.output(this, msg);
        case 'command.recent':
          return this.handlers.recent(this, msg);
        case 'config.status':
          return this.handlers.configStatus(this, msg);
        case 'catalog.update':
          return this.handlers.catalogUpdate(this, msg);
      }
    });
  }

  /**
   * True when the hello's version is readable and out of range: the agent is told which side to
   * upgrade, the refusal is recorded on its node, and the connection closes. An unreadable
   * version is left to validation, which names the field.
   */
  private refusedVersion(said: unknown): boolean {
    const version = parseProtocolVersion(said);
    if (!version) return false;
    const verdict = protocolSkew(version, SERVER_PROTOCOL);
    if (verdict === 'ok') return false;
    const refusal: VersionRefusal = { agentProtocol: formatProtocolVersion(version), serverProtocol: AGENT_PROTOCOL_VERSION, verdict };
    const advice = verdict === 'agent_too_old' ? 'upgrade the agent' : 'upgrade the control plane (or install the agent version it ships)';
    const message = `agent protocol ${refusal.agentProtocol} is not supported by this control plane (protocol ${AGENT_PROTOCOL_VERSION}, serves ${SERVER_PROTOCOL.major}.${Math.max(0, SERVER_PROTOCOL.minor - 1)} to ${SERVER_PROTOCOL.major}.${SERVER_PROTOCOL.minor + 1}): ${advice}`;
    this.reject(PROTOCOL_UNSUPPORTED, message, refusal);
    // Recorded before the close is handled (the queue keeps the order), then the link goes.
    this.enqueue(() => this.handlers.versionRefused(this, refusal));
    this.close(PROTOCOL_UNSUPPORTED_CLOSE, 'protocol unsupported');
    return true;
  }

  /**
   * Enqueues an agent message. A full queue (by count or by bytes) stops reading from the
   * connection (the agent's sends then wait in its own socket buffer) until half of it was handled.
   */
  private enqueueBounded(size: number, fn: () => Promise<void>): void {
    this.pending++;
    this.pendingBytes += size;
    if ((this.pending >= this.limits.queue || this.pendingBytes >= this.limits.queueBytes) && !this.paused && this.channel.pause) {
      this.paused = true;
      this.channel.pause();
    }
    this.enqueue(async () => {
      try {
        await fn();
      } finally {
        this.pending--;
        this.pendingBytes -= size;
        if (this.paused && this.pending <= this.limits.queue / 2 && this.pendingBytes <= this.limits.queueBytes / 2) {
          this.paused = false;
          this.channel.resume?.();
        }
      }
    });
  }

  private enqueue(fn: () => Promise<void>): void {
    this.chain = this.chain.then(fn).catch((err) => {
      this.log.error({ err, nodeId: this.nodeId }, 'handling an agent message failed');
    });
  }
}
