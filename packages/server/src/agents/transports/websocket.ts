import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { TLSSocket } from 'node:tls';
import { checkClientCert } from '../node-auth.js';
import { AGENT_CONNECT_PATH } from '@steward/protocol';
import type { Channel, ChannelHandlers, Transport, TransportHost } from '../transport.js';
import type { HandshakeTicket } from '../admission.js';

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
      app.get(
        AGENT_CONNECT_PATH,
        {
          websocket: true,
          schema: { hide: true },
          // Checked before the upgrade, so a bad credential gets a plain 401, not a socket, and an
          // agent past the handshake limits a 503 `agents_busy` with Retry-After (before the
          // credential's hash is even computed: a reconnect storm costs the least here).
          preValidation: async (req) => {
            const ticket = host.admit();
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
