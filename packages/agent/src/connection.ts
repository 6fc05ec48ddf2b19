import WebSocket from 'ws';
import type { Logger } from 'pino';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { AGENT_CONNECT_PATH, PROTOCOL_UNSUPPORTED_CLOSE, ServerMessage, issuesOf, type AgentMessage, type ServerMessage as ServerMessageT } from '@steward/protocol';
import { Backoff, retryAfterMs } from './backoff.js';
import { agentProtocolVersion } from './protocol-version.js';
import type { ServerList } from './link/server-list.js';
import { isTlsFailure } from './link/tls.js';

const serverMessage = TypeCompiler.Compile(ServerMessage);

export interface ConnectionHandlers {
  /** The socket is open: send hello. */
  open(): void;
  message(msg: ServerMessageT): void;
  closed(code: number, reason: string): void;
}

export interface ConnectionOptions {
  /** Where to dial: the list's current URL; a failed dial or a lost connection moves it on. */
  servers: ServerList;
  credential: string;
  initialDelayMs: number;
  maxDelayMs: number;
  log: Logger;
  /**
   * WebSocket ping period. A socket with no pong for three periods is dropped and redialled:
   * a silent partition (a NAT that forgot us, a frozen link) sends no FIN or RST to notice.
   */
  keepaliveMs?: number;
  /** Shared by simulated agents in one process (bench); one per agent otherwise. */
  agent?: import('node:http').Agent;
  /** The pinned CA and client certificate for an https control plane (link/tls.ts). */
  tls?: { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean };
}

/**
 * The agent's one outbound WebSocket, kept open: when it drops, the next URL of the server list
 * is dialled after a full-jitter backoff (1 s → 60 s by default) that resets once a control plane
 * has welcomed us, so the first retry after losing a healthy replica comes within a second.
 */
export class AgentConnection {
  private socket: WebSocket | null = null;
  /** The URL the open (or opening) socket was dialled to. */
  private socketUrl: string | null = null;
  /** A socket closed on purpose because the list points elsewhere now (a pushed list on trial). */
  private leaving: WebSocket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private keepalive: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly backoff: Backoff;
  /** The wait a 503's Retry-After asked for (a control plane admitting a reconnect storm); used instead of the next backoff draw. */
  private retryAfter: number | null = null;

  constructor(
    private readonly o: ConnectionOptions,
    private readonly handlers: ConnectionHandlers,
  ) {
    this.backoff = new Backoff(o.initialDelayMs, o.maxDelayMs);
    o.servers.onChange(() => this.follow());
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  start(): void {
    this.stopped = false;
    this.dial();
  }

  /** A rotated credential: used from the next dial on (the open socket stays as it is). */
  setCredential(credential: string): void {
    this.o.credential = credential;
  }

  /** Call when the control plane accepted us: the next drop starts the backoff from the bottom. */
  healthy(): void {
    this.backoff.reset();
    if (this.socketUrl) this.o.servers.welcomed(this.socketUrl);
  }

  /** The list now points at another server than the socket's: leave it and dial that one. */
  private follow(): void {
    const s = this.socket;
    if (this.stopped || !s || this.socketUrl === this.o.servers.current) return;
    this.o.log.info({ from: this.socketUrl, to: this.o.servers.current }, 'switching control plane');
    this.leaving = s;
    if (s.readyState === WebSocket.OPEN) s.close(1000, 'agent switching control plane');
    else s.terminate();
  }

  send(msg: AgentMessage): boolean {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(msg));
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = null;
    const s = this.socket;
    if (!s || s.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        s.terminate();
        resolve();
      }, 2000);
      s.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      if (s.readyState === WebSocket.CONNECTING) s.terminate();
      else s.close(1000, 'agent stopping');
    });
  }

  private dial(): void {
    if (this.stopped) return;
    const server = this.o.servers.current;
    const url = server.replace(/^http/, 'ws') + AGENT_CONNECT_PATH;
    this.o.log.debug({ server }, 'dialling the control plane');
    const socket = new WebSocket(url, {
      headers: { authorization: `Bearer ${this.o.credential}` },
      handshakeTimeout: 15_000,
      maxPayload: 64 * 1024 * 1024,
      agent: this.o.agent,
      ...this.o.tls,
    });
    this.socket = socket;
    this.socketUrl = server;
    socket.on('open', () => {
      this.watch(socket);
      this.handlers.open();
    });
    socket.on('message', (data) => this.onMessage(data as Buffer));
    socket.on('unexpected-response', (_req, res) => {
      // 503 with Retry-After: the control plane is up but admitting many agents (docs/reconnect.md).
      // Its pacing replaces our own draw, so the fleet comes back at the rate it can take.
      const busy = res.statusCode === 503 ? retryAfterMs(res.headers['retry-after'], this.o.maxDelayMs) : null;
      if (busy !== null) this.retryAfter = busy;
      const level = res.statusCode === 401 || res.statusCode === 403 ? 'error' : busy !== null ? 'debug' : 'warn';
      // The control plane's own words (a missing client certificate, a deleted node) are the useful part.
      let body = '';
      // A refusal whose body never ends must not hold the socket: it is dropped after a while anyway.
      const drop = setTimeout(() => socket.terminate(), 5000);
      res.once('close', () => clearTimeout(drop));
      res.on('data', (d: Buffer) => void (body.length < 2000 && (body += d.toString('utf8'))));
      res.once('end', () => {
        const said = (() => {
          try {
            return (JSON.parse(body) as { error?: { message?: string } }).error?.message;
          } catch {
            return undefined;
          }
        })();
        this.o.log[level](
          { status: res.statusCode, ...(said ? { reason: said } : {}), ...(busy !== null ? { retryInMs: busy } : {}) },
          res.statusCode === 401 && !said?.includes('certificate')
            ? 'control plane refused our credential (node deleted?); remove the identity file and enroll again'
            : res.statusCode === 403 && said?.includes('revoked')
              ? 'control plane refused our credential: this node was revoked (node_revoked); enroll it again with a new token'
              : `control plane refused the connection${said ? `: ${said}` : ''}`,
        );
        socket.terminate();
      });
      res.once('error', () => socket.terminate());
    });
    socket.on('error', (err) => {
      // A certificate that does not verify against the pinned CA is the operator's to fix: say so.
      if (isTlsFailure(err)) this.o.log.error({ err: err.message, code: (err as { code?: string }).code }, "control plane's TLS certificate failed verification against the trusted CA; will retry");
      else this.o.log.debug({ err: err.message }, 'connection error');
    });
    socket.on('close', (code, reason) => {
      if (this.socket === socket) {
        this.socket = null;
        this.socketUrl = null;
      }
      if (this.keepalive) clearInterval(this.keepalive);
      this.keepalive = null;
      const onPurpose = this.leaving === socket;
      if (onPurpose) this.leaving = null;
      this.handlers.closed(code, reason.toString());
      if (code === PROTOCOL_UNSUPPORTED_CLOSE && !onPurpose && !this.stopped) {
        // Redialling soon cannot help: only an upgrade of one side can. Retried at the longest
        // delay (an upgraded control plane, or another one of the list, may accept us later).
        const delay = Math.round(this.o.maxDelayMs * (0.9 + 0.1 * Math.random())); // 90–100 % of it, spread
        this.o.log.error({ code, reason: reason.toString(), retryInMs: delay }, `control plane refused this agent's protocol version ${agentProtocolVersion()} (protocol_unsupported); retrying at the longest backoff`);
        this.o.servers.failed();
        return this.schedule(delay);
      }
      // A failed dial or a lost server: the next URL of the list (a one-URL list stays on it).
      if (!onPurpose && !this.stopped) this.o.servers.failed();
      const asked = this.retryAfter;
      this.retryAfter = null;
      this.schedule(onPurpose ? Math.round(Math.random() * Math.min(this.o.initialDelayMs, 1000)) : (asked ?? undefined));
    });
  }

  private watch(socket: WebSocket): void {
    const every = this.o.keepaliveMs ?? 15_000;
    let lastPong = Date.now();
    socket.on('pong', () => (lastPong = Date.now()));
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = setInterval(() => {
      if (Date.now() - lastPong > 3 * every) {
        this.o.log.warn({ silentMs: Date.now() - lastPong }, 'control plane stopped answering pings; reconnecting');
        socket.terminate();
        return;
      }
      if (socket.readyState === WebSocket.OPEN) socket.ping();
    }, every);
  }

  private schedule(delayMs?: number): void {
    if (this.stopped || this.timer) return;
    const delay = delayMs ?? this.backoff.next();
    this.o.log.debug({ delayMs: delay, server: this.o.servers.current }, 'reconnecting');
    this.timer = setTimeout(() => {
      this.timer = null;
      this.dial();
    }, delay);
  }

  private onMessage(data: Buffer): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.toString('utf8'));
    } catch {
      this.o.log.warn('control plane sent a message that is not JSON; ignored');
      return;
    }
    if (!serverMessage.Check(parsed)) {
      this.o.log.warn({ issues: issuesOf(serverMessage, parsed) }, 'control plane sent an invalid message; ignored');
      return;
    }
    this.handlers.message(parsed);
  }
}
