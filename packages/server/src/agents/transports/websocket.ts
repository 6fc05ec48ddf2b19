import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { checkClientCert } from '../node-auth.js';
import { AGENT_CONNECT_PATH } from '@steward/protocol';
import type { Channel, ChannelHandlers, Transport, TransportHost } from '../transport.js';
import { agentsBusyBody, type AgentsBusy, type HandshakeTicket } from '../admission.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The admission slot taken before the upgrade; handed to the session. */
    handshake?: HandshakeTicket;
  }
}

/**
 * The agent's one outbound WebSocket (`/agent/v1/connect`), authenticated before the upgrade.
 * Frames over the size limit are refused by ws itself (`maxPayload`, set where the plugin is
 * registered); `sendBufferBytes` bounds what waits unsent for an agent that reads slowly.
 */
export function websocketTransport(o: { sendBufferBytes: number; requireClientCert?: boolean }): Transport {
  return {
    name: 'websocket',
    install(app: FastifyInstance, host: TransportHost): void {
      admitBeforeRouting(app.server, host);
      app.get(
        AGENT_CONNECT_PATH,
        {
          websocket: true,
          schema: { hide: true },
          // Checked before the upgrade, so a bad credential gets a plain 401, not a socket, and an
          // agent past the handshake limits a 503 `agents_busy` with Retry-After (before the
          // credential's hash is even computed: a reconnect storm costs the least here).
          preValidation: async (req) => {
            // Taken when the upgrade arrived (admitBeforeRouting); a plain GET is admitted here.
            const ticket = admittedUpgrades.get(req.raw) ?? host.admit();
            admittedUpgrades.delete(req.raw);
            try {
              req.nodeId = await host.authenticate(req.headers.authorization);
              if (o.requireClientCert) checkClientCert(req.raw.socket as TLSSocket, req.nodeId, (msg, why) => req.log.warn({ nodeId: req.nodeId, why }, msg));
            } catch (err) {
              ticket.release();
              throw err;
            }
            req.handshake = ticket;
            // An upgrade that never completes (the agent went away) frees its slot too.
            req.raw.socket.once('close', ticket.release);
          },
        },
        (socket, req) => {
          const ticket = req.handshake;
          req.handshake = undefined;
          host.attach(req.nodeId!, new WebSocketChannel(socket, o.sendBufferBytes), ticket);
        },
      );
    },
  };
}

/** Upgrade requests admitted before routing, and their tickets (handed to the route's preValidation). */
const admittedUpgrades = new WeakMap<IncomingMessage, HandshakeTicket>();

/**
 * Agent handshakes are admitted as soon as the upgrade request's head is read, before Fastify
 * routes it: in a reconnect storm most upgrades are refused, and a refusal here is a few hundred
 * bytes written on the raw socket (no routing, hooks, error object or reply), so the event loop
 * gets back to accepting connections, /healthz's among them. The answer is the 503 `agents_busy`
 * with `Retry-After` the error handler gives (same body), and the connection closes.
 * Wraps the upgrade listeners registered so far (@fastify/websocket's), so they run only for
 * upgrades that were admitted or are not the agents'.
 */
function admitBeforeRouting(server: Server, host: TransportHost): void {
  const routed = server.listeners('upgrade') as ((req: IncomingMessage, socket: Duplex, head: Buffer) => void)[];
  server.removeAllListeners('upgrade');
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (isAgentConnect(req.url)) {
      const verdict = host.offer();
      if (!('ticket' in verdict)) return refuseUpgrade(socket, verdict);
      admittedUpgrades.set(req, verdict.ticket);
      // An upgrade that never completes (the agent went away, the route refused it) frees its slot too.
      socket.once('close', verdict.ticket.release);
    }
    for (const listener of routed) listener.call(server, req, socket, head);
  });
}

function isAgentConnect(url: string | undefined): boolean {
  if (!url?.startsWith(AGENT_CONNECT_PATH)) return false;
  const rest = url.charCodeAt(AGENT_CONNECT_PATH.length);
  return Number.isNaN(rest) || rest === 0x3f /* ? */;
}

function refuseUpgrade(socket: Duplex, busy: AgentsBusy): void {
  // Node removed the socket's error listener before 'upgrade': an agent gone meanwhile must not throw.
  socket.on('error', () => socket.destroy());
  const body = agentsBusyBody(busy);
  socket.end(
    'HTTP/1.1 503 Service Unavailable\r\n' +
      `Retry-After: ${busy.retryAfterSeconds}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

class WebSocketChannel implements Channel {
  constructor(
    private readonly socket: WebSocket,
    private readonly sendBufferBytes: number,
  ) {}

  /** False, sending nothing, when closed or when the agent is not reading (its backlog passed the bound): dispatches wait for a later heartbeat. */
  send(text: string): boolean {
    if (this.socket.readyState !== this.socket.OPEN) return false;
    if (this.socket.bufferedAmount > this.sendBufferBytes) return false;
    this.socket.send(text);
    return true;
  }

  close(code: number, reason: string): void {
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) this.socket.close(code, reason);
  }

  terminate(): void {
    this.socket.terminate();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  listen(h: ChannelHandlers): void {
    this.socket.on('message', (data, isBinary) => h.frame(data as Buffer, isBinary));
    this.socket.on('close', () => h.closed());
    this.socket.on('error', (err) => h.error(err));
  }
}
