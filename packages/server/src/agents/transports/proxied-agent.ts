import {
  AGENT_PROTOCOL_VERSION,
  type AgentMessage,
  type CommandError,
  type CommandResultState,
  type DispatchedCommand,
  type Inventory,
  type ServerMessage,
  type Stats,
} from '@steward/protocol';
import type { Channel, ChannelHandlers } from '../transport.js';

export interface ProxiedAgentOptions {
  /** The device is gone after this long without a request: the connection closes (the node goes offline). */
  silenceMs: number;
  /** Told of each `error` the link answered (a message the link refused). */
  onError?: (code: string, message: string) => void;
  /** Told once when the connection ends, from either side. */
  onClose?: () => void;
}

export interface CommandOutcome {
  state: CommandResultState;
  result?: unknown;
  error?: CommandError;
}

/**
 * Stands in, on the control plane, for a device that speaks a seed protocol (Retire-Cluster,
 * BootAgent, BackupX) instead of Steward's agent link. To the link it is one more agent
 * connection: it says hello, beats, starts and finishes commands, and every message it makes
 * is validated by the session like an agent's. To its transport it is a queue: commands the
 * link dispatches wait here until the device pulls them in the way its protocol allows.
 * Lifecycle: attach → hello (awaits the welcome) → touch/heartbeat/next/finish… → end.
 */
export class ProxiedAgent implements Channel {
  private handlers: ChannelHandlers | null = null;
  /** Dispatched by the link, not yet taken by the device; in dispatch order. */
  private readonly queued = new Map<string, DispatchedCommand>();
  /** Taken by the device, no result yet. */
  private readonly running = new Map<string, { command: DispatchedCommand; startedAt: number }>();
  /** Ids cancelled while the device ran them: its protocol may tell it, or its result is late. */
  private readonly cancelled = new Set<string>();
  private open = true;
  private seq = 0;
  private silence: NodeJS.Timeout | null = null;
  private welcome: { resolve: (w: { nodeId: string; name: string; heartbeatIntervalMs: number }) => void; reject: (e: Error) => void } | null = null;
  /** The interval the control plane asks for (welcome and later `config`). */
  heartbeatIntervalMs = 0;

  constructor(private readonly opts: ProxiedAgentOptions) {}

  get isOpen(): boolean {
    return this.open;
  }

  // ---- Channel (the link's side) ----

  send(text: string): boolean {
    if (!this.open) return false;
    const msg = JSON.parse(text) as ServerMessage;
    switch (msg.type) {
      case 'welcome':
        this.heartbeatIntervalMs = msg.heartbeatIntervalMs;
        this.welcome?.resolve({ nodeId: msg.nodeId, name: msg.name, heartbeatIntervalMs: msg.heartbeatIntervalMs });
        this.welcome = null;
        break;
      case 'command.dispatch':
        // A redelivery of what is already queued or running changes nothing.
        if (!this.queued.has(msg.command.id) && !this.running.has(msg.command.id)) this.queued.set(msg.command.id, msg.command);
        break;
      case 'command.cancel':
        if (this.queued.delete(msg.commandId)) {
          const now = Date.now();
          this.emit({ type: 'command.result', commandId: msg.commandId, state: 'cancelled', startedAt: now, finishedAt: now });
        } else if (this.running.has(msg.commandId)) {
          this.cancelled.add(msg.commandId);
        }
        break;
      case 'config':
        this.heartbeatIntervalMs = msg.heartbeatIntervalMs;
        break;
      case 'error':
        // Before the welcome, the only message out is the hello: the link refused it.
        this.welcome?.reject(new Error(`the control plane refused the device's hello: ${msg.code}: ${msg.message}`));
        this.welcome = null;
        this.opts.onError?.(msg.code, msg.message);
        break;
      case 'result.ack':
        break;
    }
    return true;
  }

  close(): void {
    this.end();
  }

  terminate(): void {
    this.end();
  }

  listen(handlers: ChannelHandlers): void {
    this.handlers = handlers;
  }

  // ---- the transport's side ----

  /**
   * Introduces the device to the link; resolves once welcomed (only then may it beat or run).
   * `modules`: module reports, as an agent's hello carries them (e.g. `task` for the scheduler).
   */
  hello(inventory: Inventory, modules?: Record<string, unknown>): Promise<{ nodeId: string; name: string; heartbeatIntervalMs: number }> {
    const welcomed = new Promise<{ nodeId: string; name: string; heartbeatIntervalMs: number }>((resolve, reject) => {
      this.welcome = { resolve, reject };
    });
    this.touch();
    this.emit({ type: 'hello', protocol: AGENT_PROTOCOL_VERSION, inventory, running: [...this.running.keys()], outbox: [], ...(modules ? { modules } : {}) });
    return welcomed;
  }

  /** The device was heard from: it is alive for another `silenceMs`. */
  touch(): void {
    if (!this.open) return;
    if (this.silence) clearTimeout(this.silence);
    this.silence = setTimeout(() => this.end(), this.opts.silenceMs);
    this.silence.unref();
  }

  /** `modules`: module reports (e.g. `service`) for the features that read them, as an agent's heartbeat carries. */
  heartbeat(stats: Stats, modules?: Record<string, unknown>): void {
    this.touch();
    this.emit({ type: 'heartbeat', seq: this.seq++, stats, running: [...this.running.keys()], outbox: [], ...(modules ? { modules } : {}) });
  }

  /** Something a module of the device noticed (a task's output), as an agent's `module.event`. */
  event(module: string, event: string, data: unknown): void {
    this.emit({ type: 'module.event', module, event, at: Date.now(), data });
  }

  /** The oldest queued command the device can take (`accepts`), now running; undefined when none. */
  next(accepts: (c: DispatchedCommand) => boolean = () => true): DispatchedCommand | undefined {
    for (const c of this.queued.values()) {
      if (!accepts(c)) continue;
      this.queued.delete(c.id);
      const startedAt = Date.now();
      this.running.set(c.id, { command: c, startedAt });
      this.emit({ type: 'command.started', commandId: c.id, at: startedAt });
      return c;
    }
    return undefined;
  }

  /** The commands the device runs now. */
  runningCommands(): DispatchedCommand[] {
    return [...this.running.values()].map((r) => r.command);
  }

  wasCancelled(commandId: string): boolean {
    return this.cancelled.has(commandId);
  }

  /**
   * The device's result for a command. One it never took through this connection (a result
   * that outlived an earlier one) is passed on too: the command pipeline stores a result once.
   */
  finish(commandId: string, outcome: CommandOutcome): void {
    const run = this.running.get(commandId);
    this.running.delete(commandId);
    this.cancelled.delete(commandId);
    const finishedAt = Date.now();
    this.emit({ type: 'command.result', commandId, ...outcome, startedAt: run?.startedAt ?? finishedAt, finishedAt });
  }

  /** Ends the connection: the link marks the node disconnected; commands not taken are delivered again later. */
  end(): void {
    if (!this.open) return;
    this.open = false;
    if (this.silence) clearTimeout(this.silence);
    this.welcome?.reject(new Error('connection closed before the control plane welcomed the device'));
    this.welcome = null;
    this.handlers?.closed();
    this.opts.onClose?.();
  }

  private emit(msg: AgentMessage): void {
    if (!this.open) return;
    this.handlers?.frame(JSON.stringify(msg), false);
  }
}
