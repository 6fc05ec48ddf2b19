import type { Agent as HttpAgent } from 'node:http';
import type { Logger } from 'pino';
import { AgentConnection, DEFAULT_RESULT_TAIL_BYTES, jittered, ServerList } from '@steward/agent';
import {
  AGENT_PROTOCOL_VERSION,
  type CommandResultMessage,
  type DispatchedCommand,
  type Inventory,
  type ServerMessage,
  type Stats,
} from '@steward/protocol';

export const SIM_AGENT_VERSION = '0.0.0-bench';

/** A small valid inventory that offers `sys.ping`, as the real `sys` module does (and `task.run` / `exec.run` when asked). */
export function simInventory(name: string, tasks = false, exec = false): Inventory {
  const inv: Inventory = {
    hostname: name,
    addresses: ['10.0.0.1'],
    os: { platform: 'linux', release: '6.1.0-bench', distro: 'Bench Linux' },
    arch: 'x64',
    agentVersion: SIM_AGENT_VERSION,
    cpuCores: 2,
    memoryBytes: 2 * 1024 ** 3,
    disks: [{ mount: '/', fs: 'ext4', totalBytes: 20e9, usedBytes: 5e9, availableBytes: 15e9 }],
    capabilities: [],
    modules: ['sys'],
    commandTypes: [{ type: 'sys.ping', module: 'sys', safeToRerun: true }],
  };
  if (tasks) {
    inv.modules.push('task');
    inv.commandTypes.push({ type: 'task.run', module: 'task', safeToRerun: false });
  }
  if (exec) {
    inv.modules.push('exec');
    inv.commandTypes.push({ type: 'exec.run', module: 'exec', safeToRerun: false });
  }
  return inv;
}

function simStats(startedAt: number): Stats {
  const now = Date.now();
  return {
    collectedAt: now,
    cpu: { usagePercent: 1.5, cores: 2 },
    load: [0.01, 0.02, 0.0],
    memory: { totalBytes: 2 * 1024 ** 3, availableBytes: 1.5 * 1024 ** 3, usedBytes: 0.5 * 1024 ** 3 },
    disks: [{ mount: '/', fs: 'ext4', totalBytes: 20e9, usedBytes: 5e9, availableBytes: 15e9 }],
    network: [{ iface: 'eth0', rxBytes: 1000, txBytes: 1000 }],
    uptimeSeconds: 86_400,
    agentUptimeSeconds: Math.floor((now - startedAt) / 1000),
  };
}

interface JournalEntry {
  state: 'running' | 'done';
  result: CommandResultMessage | null;
  acked: boolean;
}

/** Shared counters and hooks of all simulated agents in this process. */
export class SimFleet {
  welcomed = 0;
  dispatches = 0;
  repeatDispatches = 0;
  executed = 0;
  tasksRun = 0;
  acks = 0;
  /** `output.ack`s received and the output bytes they covered (streaming exec.run). */
  outputAcks = 0;
  outputBytesSent = 0;
  heartbeats = 0;
  disconnects = 0;
  /** Agents welcomed and not disconnected since (the reconnect storm counts these). */
  connected = 0;
  /** Welcomes in all, first or not. */
  welcomes = 0;
  /** Executions per command id (first deliveries only: a repeat replays the journal), when a bench counts effects. */
  effects: Map<string, number> | null = null;
  serverErrors = 0;
  unknownTypes = 0;
  readonly errorSamples: string[] = [];
  /** performance.now() of the last first-time dispatch / repeat dispatch / ack seen (bench window analysis). */
  lastDispatchAt = 0;
  lastRepeatAt = 0;
  lastAckAt = 0;

  noteError(text: string): void {
    this.serverErrors++;
    if (this.errorSamples.length < 5) this.errorSamples.push(text);
  }
}

/** A pino-shaped logger that keeps quiet but remembers warnings (refused connections and the like). */
export function quietLogger(fleet: SimFleet): Logger {
  const noop = () => {};
  const warn = (obj: unknown, msg?: string) => fleet.noteError(`${msg ?? ''} ${JSON.stringify(obj)}`.trim());
  const log = { trace: noop, debug: noop, info: noop, warn, error: warn, fatal: warn, child: () => log, level: 'warn' };
  return log as unknown as Logger;
}

export interface SimAgentOptions {
  server: string;
  /** A server list (failover in order, as the real agent's `servers:`); `server` is then ignored. */
  servers?: string[];
  name: string;
  credential: string;
  fleet: SimFleet;
  httpAgent: HttpAgent;
  log: Logger;
  heartbeat: boolean;
  /** Acts as a node with the task module: reports this many slots and answers `task.run` at once. */
  taskSlots?: number;
  /**
   * Answers `exec.run` by streaming this many bytes of stdout (`command.output`: 16 KiB chunks,
   * four per message, as the real agent sends a fast writer's 64 KiB pipe reads), then a result
   * carrying the tail like the real exec.run (its default `exec.maxOutputBytes`).
   */
  execStreamBytes?: number;
  /** The reconnect backoff (default 0.5 s → 5 s, quick benches); the storm bench uses the real agent's 1 s → 60 s. */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * One simulated node over the real AgentConnection: hello → welcome → answers `sys.ping`
 * with `command.started` + `command.result`, keeps results until `result.ack`, and replays a
 * stored result when a command is delivered again (like the real agent's journal).
 */
export class SimAgent {
  private readonly conn: AgentConnection;
  private readonly journal = new Map<string, JournalEntry>();
  private readonly inventory: Inventory;
  private welcomedOnce = false;
  private welcomed = false;
  private heartbeatMs = 15_000;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private seq = 0;
  private readonly startedAt = Date.now();
  private resolveWelcome!: () => void;
  /** Resolves at the first welcome. */
  readonly welcome: Promise<void>;

  constructor(private readonly o: SimAgentOptions) {
    this.inventory = simInventory(o.name, o.taskSlots !== undefined, o.execStreamBytes !== undefined);
    this.welcome = new Promise((r) => (this.resolveWelcome = r));
    this.conn = new AgentConnection(
      { servers: new ServerList({ dataDir: '', local: o.servers ?? [o.server], pinned: true, log: o.log }), credential: o.credential, initialDelayMs: o.initialDelayMs ?? 500, maxDelayMs: o.maxDelayMs ?? 5000, log: o.log, agent: o.httpAgent },
      {
        open: () => this.onOpen(),
        message: (msg) => this.onMessage(msg),
        closed: () => this.onClosed(),
      },
    );
  }

  start(): void {
    this.conn.start();
  }

  async stop(): Promise<void> {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
    await this.conn.stop();
  }

  private onOpen(): void {
    const running: string[] = [];
    const outbox: string[] = [];
    for (const [id, e] of this.journal) {
      if (e.state === 'running') running.push(id);
      else if (!e.acked) outbox.push(id);
    }
    this.conn.send({ type: 'hello', protocol: AGENT_PROTOCOL_VERSION, inventory: this.inventory, running, outbox, ...this.moduleReports() });
  }

  private onClosed(): void {
    if (this.welcomed) {
      this.o.fleet.disconnects++;
      this.o.fleet.connected--;
    }
    this.welcomed = false;
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private onMessage(msg: ServerMessage): void {
    switch (msg.type) {
      case 'welcome':
        if (!this.welcomed) this.o.fleet.connected++;
        this.o.fleet.welcomes++;
        this.welcomed = true;
        this.conn.healthy();
        this.heartbeatMs = msg.heartbeatIntervalMs;
        for (const e of this.journal.values()) if (e.state === 'done' && !e.acked && e.result) this.conn.send(e.result);
        if (!this.welcomedOnce) {
          this.welcomedOnce = true;
          this.o.fleet.welcomed++;
          this.resolveWelcome();
        }
        // Like the real agent: one heartbeat now, then every interval ± 10 %.
        if (this.o.heartbeat) this.scheduleHeartbeat(0);
        return;
      case 'command.dispatch':
        return this.dispatch(msg.command);
      case 'result.ack':
        for (const id of msg.commandIds) {
          const e = this.journal.get(id);
          if (e && e.state === 'done' && !e.acked) {
            e.acked = true;
            this.o.fleet.acks++;
            this.o.fleet.lastAckAt = performance.now();
          }
        }
        return;
      case 'config':
        this.heartbeatMs = msg.heartbeatIntervalMs;
        if (this.o.heartbeat) this.scheduleHeartbeat(0);
        return;
      case 'output.ack':
        this.o.fleet.outputAcks++;
        return;
      case 'command.cancel':
        return; // sys.ping finishes at once; nothing to cancel
      case 'error':
        this.o.fleet.noteError(`${msg.code}: ${msg.message}`);
        return;
    }
  }

  private dispatch(cmd: DispatchedCommand): void {
    const fleet = this.o.fleet;
    const now = performance.now();
    fleet.dispatches++;
    const known = this.journal.get(cmd.id);
    if (known) {
      fleet.repeatDispatches++;
      fleet.lastRepeatAt = now;
      if (known.state === 'done' && known.result) this.conn.send(known.result);
      return;
    }
    fleet.lastDispatchAt = now;
    fleet.effects?.set(cmd.id, (fleet.effects.get(cmd.id) ?? 0) + 1);
    const entry: JournalEntry = { state: 'running', result: null, acked: false };
    this.journal.set(cmd.id, entry);
    const startedAt = Date.now();
    this.conn.send({ type: 'command.started', commandId: cmd.id, at: startedAt });
    let result: CommandResultMessage;
    if (cmd.type === 'sys.ping') {
      result = { type: 'command.result', commandId: cmd.id, state: 'succeeded', result: { pong: true, at: Date.now() }, startedAt, finishedAt: Date.now() };
    } else if (cmd.type === 'exec.run' && this.o.execStreamBytes !== undefined) {
      const tail = this.streamOutput(cmd.id, this.o.execStreamBytes);
      const run = { exitCode: 0, signal: null, stdout: tail, stderr: '', truncated: this.o.execStreamBytes > tail.length, durationMs: 0 };
      result = { type: 'command.result', commandId: cmd.id, state: 'succeeded', result: run, startedAt, finishedAt: Date.now() };
    } else if (cmd.type === 'task.run' && this.o.taskSlots !== undefined) {
      fleet.tasksRun++;
      const run = { exitCode: 0, signal: null, durationMs: 0, cpuMs: 0, peakMemoryBytes: 0, outputBytes: 0, truncated: false, tail: '' };
      result = { type: 'command.result', commandId: cmd.id, state: 'succeeded', result: run, startedAt, finishedAt: Date.now() };
    } else {
      fleet.unknownTypes++;
      result = {
        type: 'command.result',
        commandId: cmd.id,
        state: 'failed',
        error: { code: 'unknown_command_type', message: `this simulated agent has no handler for ${cmd.type}` },
        startedAt,
        finishedAt: Date.now(),
      };
    }
    entry.state = 'done';
    entry.result = result;
    fleet.executed++;
    this.conn.send(result);
  }

  /** Sends `bytes` of numbered lines as command.output; returns the result's tail (the real agent's default size). */
  private streamOutput(commandId: string, bytes: number): string {
    const CHUNK = 16 * 1024;
    const line = (n: number) => `${String(n).padStart(7, '0')} ${'x'.repeat(CHUNK - 9)}\n`;
    let seq = 0;
    let sent = 0;
    while (sent < bytes) {
      const chunks = [];
      for (let i = 0; i < 4 && sent < bytes; i++) {
        const data = line(seq).slice(0, bytes - sent);
        chunks.push({ seq: seq++, stream: 'stdout' as const, data, at: Date.now() });
        sent += data.length;
      }
      this.conn.send({ type: 'command.output', commandId, chunks });
    }
    this.o.fleet.outputBytesSent += sent;
    const tailChunks = Math.ceil(DEFAULT_RESULT_TAIL_BYTES / CHUNK);
    let tail = '';
    for (let n = Math.max(0, seq - tailChunks); n < seq; n++) tail += line(n);
    return tail.slice(-Math.min(bytes, DEFAULT_RESULT_TAIL_BYTES));
  }

  /** The task module's report: slots, nothing running (tasks end at once), idle, some disk. */
  private moduleReports(): { modules?: Record<string, unknown> } {
    if (this.o.taskSlots === undefined) return {};
    return { modules: { task: { slots: this.o.taskSlots, running: [], load: 0, diskBytes: 15e9 } } };
  }

  private scheduleHeartbeat(delayMs: number): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = setTimeout(() => this.heartbeat(), delayMs);
  }

  private heartbeat(): void {
    this.heartbeatTimer = null;
    if (!this.welcomed) return;
    const running: string[] = [];
    const outbox: string[] = [];
    for (const [id, e] of this.journal) {
      if (e.state === 'running') running.push(id);
      else if (!e.acked) outbox.push(id);
    }
    if (this.conn.send({ type: 'heartbeat', seq: this.seq++, stats: simStats(this.startedAt), running, outbox, ...this.moduleReports() })) this.o.fleet.heartbeats++;
    this.scheduleHeartbeat(jittered(this.heartbeatMs));
  }
}
