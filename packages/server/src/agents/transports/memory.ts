import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ServerMessage as ServerMessageSchema, type AgentMessage, type ServerMessage } from '@steward/protocol';
import type { Channel, ChannelHandlers, Transport, TransportHost } from '../transport.js';

/**
 * An in-process transport: the test (or an embedding program) plays the agent. Frames cross as
 * text on the next turn of the event loop, like a network would deliver them, so ordering and
 * races are those of a real link without a socket.
 */
export class MemoryTransport implements Transport {
  readonly name = 'memory';
  private host: TransportHost | null = null;

  install(_app: unknown, host: TransportHost): void {
    this.host = host;
  }

  /** Opens a connection with a node credential, as the agent would; throws what the link throws. */
  async connect(credential: string, o: { pausable?: boolean } = {}): Promise<MemoryAgentEnd> {
    if (!this.host) throw new Error('memory transport is not installed on a link');
    const nodeId = await this.host.authenticate(`Bearer ${credential}`);
    const end = new MemoryAgentEnd(o.pausable ?? true);
    this.host.attach(nodeId, end.channel);
    return end;
  }
}

const serverMessage = TypeCompiler.Compile(ServerMessageSchema);

type Waiter = { match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void };

/** The agent's end of a memory connection: what it sent, what it received, and waits on either. */
export class MemoryAgentEnd {
  readonly received: ServerMessage[] = [];
  private handlers: ChannelHandlers | null = null;
  private open = true;
  private waiters: Waiter[] = [];
  /** Set when the control plane closed the connection. */
  closedWith: { code: number; reason: string } | null = null;
  private onClosed: Array<() => void> = [];
  /** Frames the agent sent while the control plane was not reading (its session queue was full). */
  private held: string[] = [];
  private paused = false;
  /** How often the control plane stopped reading, as a socket would show as a full window. */
  pauses = 0;

  readonly channel: Channel;

  constructor(pausable = true) {
    this.channel = {
      ...this.base,
      ...(pausable
        ? {
            pause: () => {
              this.paused = true;
              this.pauses++;
            },
            resume: () => {
              this.paused = false;
              while (!this.paused && this.held.length) this.handlers?.frame(this.held.shift()!, false);
            },
          }
        : {}),
    };
  }

  private readonly base: Channel = {
    send: (text) => {
      if (!this.open) return false;
      const msg = JSON.parse(text) as ServerMessage;
      setImmediate(() => this.receive(msg));
      return true;
    },
    close: (code, reason) => this.end({ code, reason }),
    terminate: () => this.end({ code: 1006, reason: 'terminated' }),
    listen: (h) => {
      this.handlers = h;
    },
  };

  /** Sends a message (or a raw frame, to test bad input) to the control plane. */
  send(msg: AgentMessage | Record<string, unknown> | string): void {
    if (!this.open) throw new Error('memory connection is closed');
    const text = typeof msg === 'string' ? msg : JSON.stringify(msg);
    setImmediate(() => {
      if (this.paused || this.held.length) this.held.push(text);
      else this.handlers?.frame(text, false);
    });
  }

  /** Sends several messages as one socket read carrying several frames arrives: handed over in one go. */
  sendTogether(...msgs: (AgentMessage | Record<string, unknown>)[]): void {
    if (!this.open) throw new Error('memory connection is closed');
    const texts = msgs.map((m) => JSON.stringify(m));
    setImmediate(() => {
      for (const text of texts) {
        if (this.paused || this.held.length) this.held.push(text);
        else this.handlers?.frame(text, false);
      }
    });
  }

  /** The agent hangs up (a crash or a network drop, from the control plane's point of view). */
  close(): void {
    this.end({ code: 1006, reason: 'agent went away' });
  }

  /** The first received message (past or future) matching; rejects after `timeoutMs`. */
  next<T extends ServerMessage['type']>(type: T, match: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true, timeoutMs = 20_000): Promise<Extract<ServerMessage, { type: T }>> {
    const test = (m: ServerMessage) => m.type === type && match(m as Extract<ServerMessage, { type: T }>);
    const seen = this.received.find(test);
    if (seen) return Promise.resolve(seen as Extract<ServerMessage, { type: T }>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no ${type} message within ${timeoutMs} ms; received: ${this.received.map((m) => m.type).join(', ') || 'nothing'}`));
      }, timeoutMs);
      const waiter: Waiter = { match: test, resolve: (m) => (clearTimeout(timer), resolve(m as Extract<ServerMessage, { type: T }>)) };
      this.waiters.push(waiter);
    });
  }

  /** Resolves once the connection is closed from either side. */
  closed(): Promise<void> {
    return this.open ? new Promise((r) => this.onClosed.push(r)) : Promise.resolve();
  }

  private receive(msg: ServerMessage): void {
    // What the control plane sends must itself be valid protocol.
    if (!serverMessage.Check(msg)) throw new Error(`control plane sent an invalid message: ${JSON.stringify(msg)}`);
    this.received.push(msg);
    const hit = this.waiters.filter((w) => w.match(msg));
    this.waiters = this.waiters.filter((w) => !hit.includes(w));
    for (const w of hit) w.resolve(msg);
  }

  private end(why: { code: number; reason: string }): void {
    if (!this.open) return;
    this.open = false;
    this.closedWith = why;
    setImmediate(() => {
      this.handlers?.closed();
      for (const r of this.onClosed.splice(0)) r();
    });
  }
}
