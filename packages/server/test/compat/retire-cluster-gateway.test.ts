import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StewardClient } from '@steward/client';
import { startServer, type ControlPlane } from '../../src/control-plane.js';
import { freePort, tempDir } from '../../../../test/support/processes.js';
import { exchange, RetireClusterDevice, workerProfile, type RcReply } from '../../../../test/support/retire-cluster-device.js';
import { waitFor } from '../../../../test/support/wait.js';

/**
 * The Retire-Cluster gateway of a whole control plane (in this process, SQLite, real sockets on
 * loopback): admission by address range and by an operator's no, what a device cannot run, a
 * failing task, and every kind of bad input — each followed by a device that is still served.
 */

const MESSAGE_TIMEOUT_MS = 500;
const MAX_CONNECTIONS = 50;
const SECRET = 'PAYLOAD-MARKER-7f3a';

describe('the Retire-Cluster gateway', () => {
  let server: ControlPlane;
  let client: StewardClient;
  let port: number;
  const logs: string[] = [];
  /** A device admitted by its address range (it connects from 127.0.0.2). */
  let lab: RetireClusterDevice;
  let labNodeId: string;

  beforeAll(async () => {
    port = await freePort();
    server = await startServer({
      listen: '127.0.0.1:0',
      dataDir: tempDir('steward-rc-'),
      logLevel: 'info',
      logStream: { write: (line) => void logs.push(line) },
      offlineAfterMs: 3000,
      disconnectGraceMs: 300,
      sweepIntervalMs: 100,
      admitCidrs: ['127.0.0.2/32'],
      retireClusterListen: `127.0.0.1:${port}`,
      retireClusterMessageTimeoutMs: MESSAGE_TIMEOUT_MS,
      retireClusterMaxConnections: MAX_CONNECTIONS,
    });
    client = new StewardClient({ baseUrl: server.url, token: readFileSync(server.adminTokenPath, 'utf8').trim() });
    lab = new RetireClusterDevice(port, 'lab-pi-1', workerProfile({ hostname: 'lab-pi', role: 'compute' }), '127.0.0.2');
    const reg = await lab.register();
    expect(reg.message_type).toBe('ack');
    expect(reg.data.result).toMatchObject({ success: true, device_id: 'lab-pi-1' });
    labNodeId = reg.data.result!.node_id as string;
  }, 60_000);

  afterAll(async () => {
    await server?.close();
  });

  /** The positive marker after each bad input: another device's question is answered. */
  async function stillServes(): Promise<void> {
    const r = await lab.status();
    expect(r.message_type).toBe('ack');
    expect(r.data.result).toMatchObject({ success: true, device_list: ['lab-pi-1'] });
  }

  it('admits a device from an admitted range at once, as an online node with its profile', async () => {
    const node = await waitFor('lab node online', async () => {
      const n = await client.getNode(labNodeId);
      return n.status === 'online' && n;
    });
    expect(node).toMatchObject({ name: 'lab-pi', protocol: 'retire-cluster' });
    expect(node).toMatchObject({ hostname: 'lab-pi', arch: 'arm64', os: { platform: 'linux', release: '6.1.0' }, cpuCores: 8, memoryBytes: 4 * 1024 ** 3, modules: ['task'] });
    expect(node.addresses).toEqual(['192.168.1.50', '127.0.0.2']);
    expect(node.heartbeatIntervalMs).toBe(60_000);
    expect(node.capabilities).toEqual(expect.arrayContaining(['general_compute', 'role:compute']));
    expect(node.commandTypes.map((c) => c.type)).toEqual(['task.run']);
  });

  it('tells an unknown device the counts but not the members, and refuses its heartbeat and tasks', async () => {
    const stranger = new RetireClusterDevice(port, 'stranger-1');
    const status = await stranger.status();
    expect(status.message_type).toBe('ack');
    expect(status.data.result).toMatchObject({ success: true, device_list: [], cluster_stats: { total_devices: 1, online_devices: 1 } });
    for (const r of [await stranger.heartbeat(), await stranger.taskRequest()]) {
      expect(r.message_type).toBe('error');
      expect(r.data.error).toMatch(/stranger-1 is not a node here: send register, then wait for steward nodes approve stranger-1/);
    }
  });

  it('keeps a device from elsewhere pending, and a rejected one out with an error reply', async () => {
    const phone = new RetireClusterDevice(port, 'phone-9', workerProfile({ hostname: 'phone' }));
    const first = await phone.register();
    expect(first.message_type).toBe('error');
    expect(first.data.error).toBe('device phone-9 waits for an operator to admit it: steward nodes approve phone-9');
    const pending = (await client.listAdmissions({ state: 'pending' })).items;
    expect(pending.map((a) => a.externalId)).toContain('phone-9');
    await client.rejectAdmission('phone-9');
    const again = await phone.register();
    expect(again.message_type).toBe('error');
    expect(again.data.error).toBe('device phone-9 was rejected by an operator');
    expect((await phone.heartbeat()).message_type).toBe('error');
  });

  it('refuses at submission a command type the protocol cannot carry', async () => {
    await expect(client.submitCommand({ node: labNodeId, type: 'exec.run', payload: { command: 'true' } })).rejects.toMatchObject({
      code: 'unknown_command_type',
    });
  });

  it('hands a script task over as a shell line and fails it on the exit code the device reports', async () => {
    const { task } = await client.submitTask({
      kind: 'script',
      payload: { interpreter: 'python3', script: "print('it''s')", env: { MODE: 'fast' } },
      requirements: { capabilities: ['role:compute'] },
      maxRetries: 0,
      timeoutMs: 30_000,
    });
    const assign = await waitFor('a task_assign', async () => {
      const r = await lab.taskRequest();
      return r.message_type === 'task_assign' && r;
    });
    const t = assign.data.task!;
    expect(assign.target_id).toBe('lab-pi-1');
    expect(t).toMatchObject({ task_type: 'command', priority: 'normal', timeout: 30, metadata: { steward_task_id: task.id, steward_kind: 'script' } });
    expect(t.payload.command).toBe(`env MODE='fast' 'python3' '-c' 'print('\\''it'\\'''\\''s'\\'')'`);
    const ack = await lab.taskResult({ task_id: t.task_id, status: 'success', result_data: { return_code: 3, stdout: 'partial\n', stderr: 'boom\n' }, execution_time_seconds: 0.25 });
    expect(ack).toMatchObject({ message_type: 'ack', data: { result: { success: true } } });
    const done = await waitFor('task failed', async () => {
      const d = await client.getTask(task.id);
      return d.state === 'failed' && d;
    });
    expect(done.exitCode).toBe(3);
    expect(done.error).toMatchObject({ code: 'nonzero_exit', message: 'exited with code 3' });
    expect(done.attemptList[0]).toMatchObject({ state: 'failed', exitCode: 3, outputBytes: Buffer.byteLength('partial\nboom\n') });
    // Nothing else is queued for it.
    expect((await lab.taskRequest()).data.result).toMatchObject({ success: true, task: null });
  });

  it('answers a partial message followed by silence with an error once the time is up', async () => {
    const r = await exchange(port, (s) => s.write(`{"message_type": "register", "sender_id": "${SECRET}", "data": {`));
    expect(r.ended).toBe('end');
    expect(r.reply?.message_type).toBe('error');
    expect(r.reply?.data.error).toMatch(/^no complete JSON message within /);
    await stillServes();
  });

  it('answers a connection held open without a byte the same way', async () => {
    const started = Date.now();
    const r = await exchange(port, () => {});
    expect(r.reply?.data.error).toMatch(/no complete JSON message/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(MESSAGE_TIMEOUT_MS - 50);
    await stillServes();
  });

  it('refuses 1 MiB of garbage at its first byte', async () => {
    const garbage = Buffer.alloc(1024 * 1024, `<${SECRET}>`);
    const r = await exchange(port, (s) => s.write(garbage));
    // The reply is written at once; a peer still sending may see the close as a reset instead.
    if (r.ended !== 'reset') expect(r.reply).toMatchObject({ message_type: 'error', data: { error: 'a message is one JSON object ({...})' } });
    await stillServes();
  });

  it('refuses an object that grows past 64 KiB', async () => {
    const r = await exchange(port, (s: Socket) => {
      s.write('{"message_type": "heartbeat", "sender_id": "big", "data": {"x": "');
      s.write(Buffer.alloc(1024 * 1024, 'a'));
    });
    if (r.ended !== 'reset') expect(r.reply?.data.error).toBe('a message may be at most 65536 bytes');
    await stillServes();
  });

  it('answers what is not JSON, not an envelope, or not a message type it knows with an error reply', async () => {
    const cases: [string, RegExp][] = [
      ['{"message_type": "status", "sender_id": }', /not valid JSON/],
      ['{"message_type": "status"}', /invalid message: sender_id/],
      ['{"message_type": "status", "sender_id": "a", "data": [1]}', /invalid message: data/],
      ['{"message_type": "list_devices", "sender_id": "a", "message_id": "m1"}', /message_type list_devices is not supported here \(register, heartbeat, status, task_request, task_result\)/],
      [`{"message_type": "heartbeat", "sender_id": "lab-pi-1", "data": {"metrics": {"cpu_usage": "${SECRET}"}}}`, /invalid heartbeat message: data.metrics.cpu_usage/],
      ['{"message_type": "task_result", "sender_id": "lab-pi-1", "data": {"status": "completed"}}', /invalid task_result message: data.task_id/],
    ];
    for (const [text, error] of cases) {
      const r = await exchange(port, (s) => s.write(text));
      expect(r.reply?.message_type, text).toBe('error');
      expect(r.reply?.data.error, text).toMatch(error);
    }
    // A peer that shuts down its side after the message (nc -N) still reads the reply.
    const halfClosed = await exchange(port, (s) => s.end('{"message_type": "status", "sender_id": "lab-pi-1"}'));
    expect(halfClosed.reply).toMatchObject({ message_type: 'ack', data: { result: { success: true } } });
    // An object followed by more bytes: the object is the message, the rest is ignored.
    const r = await exchange(port, (s) => s.write('  {"message_type": "status", "sender_id": "lab-pi-1", "data": {"k": "a}\\"{"}}trailing'));
    expect(r.reply).toMatchObject({ message_type: 'ack', data: { result: { success: true } } });
    await stillServes();
  });

  it('refuses connections over its cap with an error reply, and serves again once they are gone', async () => {
    const all = await Promise.all(Array.from({ length: 1000 }, () => exchange(port, () => {}, 20_000)));
    const over = all.filter((r) => r.reply?.data.error?.startsWith(`the gateway serves ${MAX_CONNECTIONS} connections at once`));
    const timedOut = all.filter((r) => r.reply?.data.error?.startsWith('no complete JSON message'));
    // Each one got an answer (or, refused at once, a reset): none was left hanging.
    expect(all.filter((r) => r.ended === 'timeout')).toEqual([]);
    expect(over.length + timedOut.length + all.filter((r) => r.ended === 'reset').length).toBe(1000);
    // How many are refused at once depends on how fast they arrive; some always are.
    expect(over.length).toBeGreaterThan(0);
    await stillServes();
  }, 60_000);

  it('logs refusals without what the peer sent', () => {
    const refusals = logs.filter((l) => l.includes('retire-cluster gateway refused a connection'));
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.some((l) => l.includes('"reason":"message_timeout"'))).toBe(true);
    expect(refusals.some((l) => l.includes('"reason":"error_reply"'))).toBe(true);
    expect(logs.filter((l) => l.includes(SECRET))).toEqual([]);
  });

  it('takes a new profile when a device registers again while it is a connected node', async () => {
    const again = new RetireClusterDevice(port, 'lab-pi-1', workerProfile({ hostname: 'lab-pi-renamed', cpu_count_logical: 16 }), '127.0.0.2');
    const r = await again.register();
    expect(r.data.result).toMatchObject({ success: true, node_id: labNodeId });
    const node = await waitFor('the new profile', async () => {
      const n = await client.getNode(labNodeId);
      return n.cpuCores === 16 && n;
    });
    expect(node).toMatchObject({ hostname: 'lab-pi-renamed', name: 'lab-pi', status: 'online', connected: true });
    await stillServes();
  });

  it('status reply (an ack) is parsed back by the device as JSON of at most 8 KiB', async () => {
    const r: RcReply = await lab.status();
    expect(Buffer.byteLength(JSON.stringify(r))).toBeLessThanOrEqual(8192);
  });
});
