import type { FastifyInstance } from 'fastify';
import type { AgentSession } from './session.js';
import type { AgentsBusy, HandshakeTicket } from './admission.js';

/**
 * One open connection of some transport, as the link sees it. A transport turns its own
 * framing (a WebSocket, a TLS socket, long polls, TCP JSON, an in-memory pipe) into text frames
 * and a close; everything above it — validation, ordering, commands — is the link's.
 */
export interface Channel {
  /** Queues one frame; false when the connection is no longer open (the caller may relay or wait). */
  send(text: string): boolean;
  /** Orderly close; the agent is expected to redial. */
  close(code: number, reason: string): void;
  /** Drops the connection at once (a peer that stopped answering). */
  terminate(): void;
  /** Stops reading frames (the session's queue is full); a transport that cannot pause leaves it out. */
  pause?(): void;
  /** Reads frames again after `pause`. */
  resume?(): void;
  /** Called once by the session: every inbound frame in order, then one close. */
  listen(handlers: ChannelHandlers): void;
}

export interface ChannelHandlers {
  frame(data: string | Buffer, binary: boolean): void;
  closed(): void;
  error(err: Error): void;
}

/** What the link offers a transport: node authentication and a place to attach connections. */
export interface TransportHost {
  /** The node whose credential is in an `Authorization` header value; throws UnauthorizedError. */
  authenticate(authorization: string | undefined): Promise<string>;
  /** Hands an authenticated connection to the link; the returned session owns it from now on (and frees `handshake` once welcomed or closed). */
  attach(nodeId: string, channel: Channel, handshake?: HandshakeTicket): AgentSession;
  /**
   * Admits one agent handshake or throws UnavailableError (503 `agents_busy` with Retry-After):
   * called before the upgrade and before authentication, so a reconnect storm costs little.
   */
  admit(): HandshakeTicket;
  /** The same admission without throwing: a ticket, or the refusal to answer with (the storm's cheap path). */
  offer(): { ticket: HandshakeTicket } | AgentsBusy;
}

/**
 * A way for agents to reach the link. The WebSocket is the first; TLS, HTTP polling, TCP-JSON
 * seed protocols and inbound direct calls plug in the same way, without touching commands,
 * jobs, tasks or services. Lifecycle: install (before listen) → … → stop (after sockets close).
 */
export interface Transport {
  readonly name: string;
  install(app: FastifyInstance, host: TransportHost): void | Promise<void>;
  stop?(): Promise<void>;
}
