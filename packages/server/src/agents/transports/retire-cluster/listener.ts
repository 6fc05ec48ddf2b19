import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { RETIRE_CLUSTER_MAX_MESSAGE_BYTES } from '@steward/protocol';
import { parseListen } from '../../../core/listen.js';
import type { Transport, TransportHost } from '../../transport.js';
import { ObjectEnd } from './object-end.js';
import { encodeReply, errorReply, type RetireClusterReply } from './replies.js';

export interface RetireClusterListenerOptions {
  /** `HOST:PORT`; port 0 picks a free one (see `address()`). */
  listen: string;
  /** The whole message must arrive within this long after connecting; else an error reply and close. */
  messageTimeoutMs: number;
  /** Connections open at once; one more gets an error reply and is closed. */
  maxConnections: number;
  log: Logger;
}

/** Answers one parsed message; must not throw for anything a device sends (a throw becomes an error reply). */
export type RetireClusterHandler = (message: unknown, peer: { address: string }) => Promise<RetireClusterReply>;

/** After an error reply, unread bytes are drained this long so the peer can read the reply before the close. */
const LINGER_MS = 1000;

/**
 * The Retire-Cluster gateway's TCP side: one JSON object per connection, no delimiter (it ends
 * at its closing brace), one reply of at most 8 KiB, then the connection closes. Everything a
 * peer can do wrong — garbage, a partial object then silence, an endless object, a silent open
 * socket, a flood of connections — ends in an error reply or a close of that one connection;
 * the others are served meanwhile. Refusals are logged without the payload.
 */
export class RetireClusterListener implements Transport {
  readonly name = 'retire-cluster';
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private handler: RetireClusterHandler | null = null;
  private readonly refusals = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly opts: RetireClusterListenerOptions,
    private readonly makeHandler: (host: TransportHost) => RetireClusterHandler,
  ) {}

  /** The bound address once installed. */
  address(): AddressInfo | null {
    return (this.server?.address() as AddressInfo | null) ?? null;
  }

  async install(_app: unknown, host: TransportHost): Promise<void> {
    this.handler = this.makeHandler(host);
    const { host: bind, port } = parseListen(this.opts.listen, '--retire-cluster-listen');
    // Half-open allowed: a peer that shuts down its sending side after the message still gets the reply.
    const server = createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
    server.on('error', (err) => this.opts.log.error({ err }, 'retire-cluster gateway listener error'));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: bind, port, backlog: 1024 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const a = this.address()!;
    this.opts.log.info({ address: a.address, port: a.port }, 'retire-cluster gateway listening');
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  private accept(socket: Socket): void {
    const source = socket.remoteAddress ?? 'unknown';
    socket.on('error', () => {}); // resets and pipes broken by the peer: its connection only
    if (this.sockets.size >= this.opts.maxConnections) {
      this.refuse(socket, source, 'too_many_connections', `the gateway serves ${this.opts.maxConnections} connections at once; try again later`);
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const end = new ObjectEnd();
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      this.refuse(socket, source, 'message_timeout', `no complete JSON message within ${Math.round(this.opts.messageTimeoutMs / 1000)} s`);
    }, this.opts.messageTimeoutMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      const at = end.feed(chunk);
      if (at === 'not_object') {
        done = true;
        return this.refuse(socket, source, 'not_json_object', 'a message is one JSON object ({...})');
      }
      const take = at === -1 ? chunk : chunk.subarray(0, at);
      size += take.length;
      if (size > RETIRE_CLUSTER_MAX_MESSAGE_BYTES) {
        done = true;
        return this.refuse(socket, source, 'message_too_large', `a message may be at most ${RETIRE_CLUSTER_MAX_MESSAGE_BYTES} bytes`);
      }
      chunks.push(take);
      if (at === -1) return;
      done = true;
      clearTimeout(timer);
      void this.answer(socket, source, Buffer.concat(chunks, size));
    });
    socket.on('end', () => {
      if (!done) socket.destroy(); // the peer gave up before its message was complete
    });
  }

  private async answer(socket: Socket, source: string, bytes: Buffer): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch {
      return this.refuse(socket, source, 'invalid_json', 'the message is not valid JSON');
    }
    let reply: RetireClusterReply;
    try {
      reply = await this.handler!(parsed, { address: source });
    } catch (err) {
      this.opts.log.error({ err, source }, 'retire-cluster gateway failed to handle a message');
      const to = parsed as { sender_id?: string; message_id?: string };
      reply = errorReply({ sender_id: typeof to.sender_id === 'string' ? to.sender_id : null, message_id: typeof to.message_id === 'string' ? to.message_id : null }, 'internal error; try again');
    }
    // The sentence names fields and rules, never values: safe to log (the peer's message is not).
    if (reply.message_type === 'error') this.note(source, 'error_reply', { error: String(reply.data.error).slice(0, 300) });
    const out = encodeReply(reply) ?? encodeReply(errorReply(null, 'the reply does not fit in 8 KiB'))!;
    if (socket.destroyed) return;
    socket.end(out);
    // A peer that never closes its side must not hold a connection slot.
    setTimeout(() => socket.destroy(), LINGER_MS * 5).unref();
  }

  /** Logs a refusal once a second per reason at most (a flood logs a count), without what the peer sent. */
  private note(source: string, reason: string, extra: Record<string, unknown> = {}): void {
    const now = Date.now();
    const last = this.refusals.get(reason);
    if (!last || now - last.at >= 1000) {
      this.opts.log.warn({ source, reason, ...extra, ...(last?.suppressed ? { alsoRefusedSinceLastLog: last.suppressed } : {}) }, 'retire-cluster gateway refused a connection');
      this.refusals.set(reason, { at: now, suppressed: 0 });
    } else {
      last.suppressed++;
    }
  }

  /** An error reply, then the close. */
  private refuse(socket: Socket, source: string, reason: string, text: string): void {
    this.note(source, reason);
    if (socket.destroyed) return;
    socket.end(encodeReply(errorReply(null, text))!); // a short text: it fits
    // Unread bytes would turn the close into a reset that can overtake the reply: read and drop them a while.
    socket.on('data', () => {});
    socket.resume();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  }
}
