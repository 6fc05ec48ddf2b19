import { connect, type Socket } from 'node:net';
import { randomUUID } from 'node:crypto';

/**
 * A Retire-Cluster worker written from its protocol description (not from Steward's code): each
 * message is one TCP connection carrying one JSON object with no delimiter; the worker then
 * reads one reply on the same socket and closes. Tests drive Steward's gateway with it.
 */

export interface RcReply {
  message_type: string;
  sender_id: string;
  receiver_id?: string | null;
  target_id?: string;
  message_id: string;
  timestamp: string;
  data: Record<string, unknown> & {
    original_message_id?: string | null;
    error?: string;
    result?: Record<string, unknown> & { success?: boolean; message?: string };
    task?: RcTask;
  };
}

export interface RcTask {
  task_id: string;
  task_type: string;
  priority: string;
  timeout: number;
  payload: { command: string; timeout: number };
  requirements: Record<string, unknown>;
  metadata: { steward_task_id: string; steward_attempt_id: string; steward_kind: string };
}

/** What one connection ended with: the reply (if any arrived) and how the socket ended. */
export interface Exchange {
  reply: RcReply | null;
  /** Raw bytes received (a reply that is not JSON shows here). */
  raw: string;
  /** `end` (the server closed cleanly), `reset`, or `timeout` (this side gave up waiting). */
  ended: 'end' | 'reset' | 'timeout';
}

/**
 * Opens a connection, lets `write` send whatever it likes (a message, garbage, nothing), and
 * collects what comes back until the server closes or `timeoutMs` passes.
 */
export function exchange(port: number, write: (s: Socket) => void, timeoutMs = 15_000, localAddress?: string): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ...(localAddress ? { localAddress } : {}) });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (ended: Exchange['ended']) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks).toString('utf8');
      let reply: RcReply | null = null;
      try {
        reply = raw ? (JSON.parse(raw) as RcReply) : null;
      } catch {
        reply = null;
      }
      resolve({ reply, raw, ended });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('data', (d) => chunks.push(d));
    socket.on('end', () => finish('end'));
    socket.on('close', () => finish('end'));
    socket.on('error', () => finish('reset'));
    socket.on('connect', () => write(socket));
  });
}

/** The published worker's device profile (flat), with the fields its profiler sends. */
export function workerProfile(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    device_id: 'x',
    role: 'compute',
    platform: 'linux',
    platform_details: { system: 'Linux', release: '6.1.0', machine: 'aarch64', python_version: '3.11.2', is_android: false },
    timestamp: new Date().toISOString(),
    has_psutil: true,
    cpu_count: 4,
    cpu_count_logical: 8,
    memory_total_gb: 4,
    memory_available_gb: 2.5,
    storage_total_gb: 64,
    storage_free_gb: 40,
    hostname: 'old-laptop',
    ip_address: '192.168.1.50',
    network_interfaces: ['lo', 'wlan0'],
    capabilities: { computational: ['general_compute'], services: ['network_tasks', 'http_server'], automation: ['file_operations', 'script_execution'] },
    tags: ['linux', 'arm', 'compute'],
    max_concurrent_tasks: 2,
    worker_config: { heartbeat_interval: 60, main_host: '127.0.0.1', main_port: 8080 },
    ...over,
  };
}

export class RetireClusterDevice {
  constructor(
    readonly port: number,
    readonly id: string,
    readonly profile: Record<string, unknown> = workerProfile(),
    /** The loopback address to connect from (127.0.0.2…), for admission by address range. */
    readonly localAddress?: string,
  ) {}

  /** One message on its own connection, and the one reply. */
  async send(messageType: string, data: Record<string, unknown> = {}): Promise<RcReply> {
    const msg = { message_type: messageType, sender_id: this.id, receiver_id: null, message_id: randomUUID(), timestamp: new Date().toISOString(), data };
    const r = await exchange(this.port, (s) => s.write(JSON.stringify(msg)), 15_000, this.localAddress);
    if (!r.reply) throw new Error(`no reply to ${messageType} (${r.ended}): ${r.raw.slice(0, 200)}`);
    if (r.reply.data.original_message_id !== undefined && r.reply.data.original_message_id !== msg.message_id) {
      throw new Error(`reply names message ${String(r.reply.data.original_message_id)}, not ${msg.message_id}`);
    }
    return r.reply;
  }

  register(): Promise<RcReply> {
    return this.send('register', { ...this.profile, device_id: this.id });
  }

  heartbeat(metrics: Record<string, unknown> = { cpu_usage: 12.5, memory_usage: 40, storage_usage: 37.5, load_average_1m: 0.8 }): Promise<RcReply> {
    return this.send('heartbeat', { metrics: { timestamp: new Date().toISOString(), device_id: this.id, ...metrics } });
  }

  status(): Promise<RcReply> {
    return this.send('status', {});
  }

  taskRequest(): Promise<RcReply> {
    return this.send('task_request', {});
  }

  taskResult(data: Record<string, unknown>): Promise<RcReply> {
    return this.send('task_result', data);
  }
}
