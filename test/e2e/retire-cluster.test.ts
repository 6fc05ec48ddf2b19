import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startServerProcess, STEWARD_BIN, type ServerProc } from '../support/processes.js';
import { RetireClusterDevice, workerProfile } from '../support/retire-cluster-device.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);

/**
 * A Retire-Cluster worker's life on a real `steward server --retire-cluster-listen` process:
 * registers and waits, is approved with `steward nodes approve`, beats (online with its
 * metrics), pulls a task submitted through the tasks API and returns its result (stored once),
 * then falls silent (offline) and comes back.
 */
describe('a Retire-Cluster device on a control plane process', () => {
  let server: ServerProc;
  let device: RetireClusterDevice;
  let nodeId: string;

  beforeAll(async () => {
    const port = await freePort();
    server = await startServerProcess({ args: ['--retire-cluster-listen', `127.0.0.1:${port}`] });
    // A two-second heartbeat, so three missed ones take seconds, not minutes.
    device = new RetireClusterDevice(port, 'android-termux-aarch64', workerProfile({ hostname: 'old-phone', role: 'mobile', worker_config: { heartbeat_interval: 2 } }));
  }, 90_000);

  afterAll(async () => {
    await server?.kill();
  });

  it('waits as pending until an operator approves it with steward nodes approve', async () => {
    const first = await device.register();
    expect(first).toMatchObject({ message_type: 'error', sender_id: 'steward', receiver_id: 'android-termux-aarch64' });
    expect(first.data.error).toBe('device android-termux-aarch64 waits for an operator to admit it: steward nodes approve android-termux-aarch64');
    const env = { ...process.env, STEWARD_SERVER: server.url, STEWARD_TOKEN: server.token };
    const pending = await run(process.execPath, [STEWARD_BIN, 'nodes', 'pending'], { env });
    expect(pending.stdout).toContain('android-termux-aarch64');
    await run(process.execPath, [STEWARD_BIN, 'nodes', 'approve', 'android-termux-aarch64'], { env });

    const again = await device.register();
    expect(again.message_type).toBe('ack');
    expect(again.data.result).toMatchObject({ success: true, message: 'Device registered successfully', device_id: 'android-termux-aarch64' });
    nodeId = again.data.result!.node_id as string;
    const node = await server.client.getNode(nodeId);
    expect(node).toMatchObject({ name: 'old-phone', protocol: 'retire-cluster', status: 'online', connected: true, cpuCores: 8, arch: 'arm64', heartbeatIntervalMs: 2000 });
  });

  it('is online with the metrics of its heartbeats', async () => {
    const ack = await device.heartbeat({ cpu_usage: 33.5, memory_usage: 50, storage_usage: 25, load_average_1m: 1.5, uptime: 3600, network_bytes_sent: 10, network_bytes_recv: 20 });
    expect(ack).toMatchObject({ message_type: 'ack', data: { result: { success: true, message: 'Heartbeat recorded' } } });
    const stats = await waitFor('stats stored', async () => {
      const n = await server.client.getNode(nodeId);
      return n.stats?.cpu.usagePercent === 33.5 && n.stats;
    });
    expect(stats).toMatchObject({ cpu: { cores: 8 }, load: [1.5, 0, 0], uptimeSeconds: 3600, memory: { totalBytes: 4 * 1024 ** 3, availableBytes: 2 * 1024 ** 3 } });
    expect(stats.disks[0]).toMatchObject({ mount: '/', totalBytes: 64 * 1024 ** 3, availableBytes: 48 * 1024 ** 3 });
    expect(stats.network).toEqual([{ iface: 'all', rxBytes: 20, txBytes: 10 }]);
    const status = await device.status();
    expect(status.data.result).toMatchObject({ success: true, device_list: ['android-termux-aarch64'], cluster_stats: { total_devices: 1, online_devices: 1, by_role: { mobile: 1 } } });
  });

  it('pulls a task the scheduler placed on it and its result ends the attempt, stored once', async () => {
    const { task } = await server.client.submitTask({
      kind: 'exec',
      payload: { command: 'echo', args: ['hello world'], cwd: '/tmp' },
      requirements: { platform: 'linux', arch: 'arm64', capabilities: ['role:mobile'] },
      timeoutMs: 60_000,
    });
    const assign = await waitFor('the task assigned on request', async () => {
      await device.heartbeat();
      const r = await device.taskRequest();
      return r.message_type === 'task_assign' && r;
    });
    const t = assign.data.task!;
    expect(t).toMatchObject({ task_type: 'command', timeout: 60, payload: { command: "cd '/tmp' && 'echo' 'hello world'", timeout: 60 }, metadata: { steward_task_id: task.id } });
    await waitFor('task running', async () => (await server.client.getTask(task.id)).state === 'running');

    const result = { task_id: t.task_id, status: 'completed', execution_time: 0.5, result: { output: 'hello world\n', exit_code: 0, metrics: { cpu_time: 0.1, memory_peak: 1048576 } } };
    expect((await device.taskResult(result)).data.result).toMatchObject({ success: true, task_id: t.task_id });
    const done = await waitFor('task succeeded', async () => {
      const d = await server.client.getTask(task.id);
      return d.state === 'succeeded' && d;
    });
    expect(done.exitCode).toBe(0);
    expect(done.attemptList).toHaveLength(1);
    expect(done.attemptList[0]).toMatchObject({ state: 'succeeded', exitCode: 0, cpuMs: 100, peakMemoryBytes: 1048576, commandId: t.task_id });
    const command = await server.client.getCommand(t.task_id);
    expect(command).toMatchObject({ state: 'succeeded', type: 'task.run', result: { exitCode: 0, durationMs: 500, tail: 'hello world\n', outputBytes: 12 } });
    const output: string[] = [];
    for await (const ev of server.client.taskOutput(task.id)) if (ev.kind === 'output') output.push(ev.chunk.data);
    expect(output.join('')).toBe('hello world\n');

    // The same result again, and a contradicting one: nothing changes.
    await device.taskResult(result);
    await device.taskResult({ ...result, status: 'failed', result: { output: 'other', exit_code: 9 } });
    const since = Date.now();
    await device.heartbeat();
    // The heartbeat after them is stored, so the session handled both results before it.
    await waitFor('the heartbeat after the repeats', async () => ((await server.client.getNode(nodeId)).lastSeenAt ?? 0) >= since);
    expect(await server.client.getCommand(t.task_id)).toEqual(command);
    const after = await server.client.getTask(task.id);
    expect(after).toMatchObject({ state: 'succeeded', exitCode: 0, finishedAt: done.finishedAt });
    expect(after.attemptList).toHaveLength(1);
  });

  it('goes offline when its heartbeats stop, and online again when one comes', async () => {
    const offline = await waitFor(
      'offline after three missed heartbeats',
      async () => {
        const n = await server.client.getNode(nodeId);
        return n.status === 'offline' && n;
      },
      { timeoutMs: 30_000 },
    );
    expect(offline.connected).toBe(false);
    // After the silence the device just beats again (the published worker never registers twice).
    expect((await device.heartbeat()).message_type).toBe('ack');
    await waitFor('online again', async () => {
      const n = await server.client.getNode(nodeId);
      return n.status === 'online' && n.connected;
    });
  });
});
