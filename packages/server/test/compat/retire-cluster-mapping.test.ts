import { describe, expect, it } from 'vitest';
import { ObjectEnd } from '../../src/agents/transports/retire-cluster/object-end.js';
import { inventoryOf, profileFromInventory, profileFromRegister, statsFrom, taskReport } from '../../src/compat/retire-cluster/profile.js';
import { outcomeOf, taskAssignment } from '../../src/compat/retire-cluster/tasks.js';

const GiB = 1024 ** 3;

describe('ObjectEnd (where an undelimited JSON object ends)', () => {
  it('finds the closing brace across pieces, past braces and escaped quotes inside strings', () => {
    const text = ' {"a": "x}\\"{", "b": [1, {"c": "é😀"}], "d": "\\\\"}rest';
    const bytes = Buffer.from(text, 'utf8');
    const end = new ObjectEnd();
    let at = -1;
    let offset = 0;
    // One byte at a time: every split point, inside escapes and multi-byte characters too.
    for (; offset < bytes.length && at === -1; offset++) {
      const r = end.feed(bytes.subarray(offset, offset + 1));
      if (r === 'not_object') throw new Error('not an object?');
      if (r !== -1) at = offset + r;
    }
    const message = bytes.subarray(0, at).toString('utf8');
    expect(JSON.parse(message)).toEqual({ a: 'x}"{', b: [1, { c: 'é😀' }], d: '\\' });
    expect(bytes.subarray(at).toString('utf8')).toBe('rest');
  });

  it('says not_object at the first byte that cannot start one, and -1 while open', () => {
    expect(new ObjectEnd().feed(Buffer.from('  \n[1]'))).toBe('not_object');
    expect(new ObjectEnd().feed(Buffer.from('GET / HTTP/1.1'))).toBe('not_object');
    expect(new ObjectEnd().feed(Buffer.from('{"a": {"b": 1}'))).toBe(-1);
  });
});

describe('Retire-Cluster profiles', () => {
  it("reads the design document's nested register data", () => {
    const p = profileFromRegister(
      {
        device_info: { hostname: 'android-phone', platform: 'android', architecture: 'aarch64', python_version: '3.11.0', role: 'mobile' },
        hardware_specs: { cpu_cores: 8, memory_total: 8589934592, disk_space: 128849018880, network_interfaces: ['wlan0'] },
        capabilities: ['computational', 'network_services', 'mobile_specific'],
      },
      'device-001',
      '10.0.0.7',
    );
    expect(p).toMatchObject({ hostname: 'android-phone', platform: 'android', arch: 'arm64', role: 'mobile', cores: 8, memoryBytes: 8 * GiB, diskTotalBytes: 120 * GiB, diskFreeBytes: 120 * GiB, slots: 2, heartbeatIntervalMs: 60_000 });
    expect(p.capabilities).toEqual(['computational', 'mobile_specific', 'network_services', 'role:mobile']);
    const inv = inventoryOf(p);
    expect(inv).toMatchObject({ agentVersion: 'retire-cluster (python 3.11.0)', addresses: ['10.0.0.7'], modules: ['task'] });
    // What a control plane restart rebuilds from the stored inventory (slots fall back to the default).
    expect(profileFromInventory(inv, 60_000)).toEqual({ ...p, addresses: ['10.0.0.7'] });
  });

  it('fills what a device with neither psutil nor a profile leaves null', () => {
    const p = profileFromRegister({ platform: 'windows', memory_total_gb: null, storage_total_gb: null, capabilities: null }, 'win-1', '127.0.0.1');
    expect(p).toMatchObject({ hostname: 'win-1', platform: 'win32', arch: 'unknown', cores: 1, memoryBytes: 0, diskTotalBytes: 0, capabilities: ['role:worker'] });
    expect(inventoryOf(p).disks).toEqual([]);
    const stats = statsFrom({}, p, 5, 1000);
    expect(stats).toEqual({ collectedAt: 1000, cpu: { usagePercent: 0, cores: 1 }, load: [0, 0, 0], memory: { totalBytes: 0, availableBytes: 0, usedBytes: 0 }, disks: [], network: [], uptimeSeconds: 0, agentUptimeSeconds: 5 });
  });

  it('turns system_metrics into stats and a task report with load per core and free disk', () => {
    const p = profileFromRegister({ cpu_count_logical: 4, memory_total_gb: 8, storage_total_gb: 100, storage_free_gb: 60 }, 'd', '::1');
    const stats = statsFrom({ cpu_usage: 25.5, memory_usage: 45.2, disk_usage: 12.8, load_average: [2, 0.3, 0.2], uptime: 86400 }, p, 0, 7);
    expect(stats.load).toEqual([2, 0.3, 0.2]);
    expect(stats.memory.availableBytes).toBe(Math.floor(8 * GiB * (1 - 0.452)));
    expect(stats.disks[0]!.availableBytes).toBe(Math.floor(100 * GiB * (1 - 0.128)));
    expect(taskReport(p, [], stats)).toEqual({ slots: 2, running: [], load: 0.5, diskBytes: stats.disks[0]!.availableBytes });
    expect(taskReport(p, [], null).diskBytes).toBe(60 * GiB);
  });
});

describe('Retire-Cluster tasks', () => {
  const command = (payload: unknown) => ({ id: 'cmd_1', type: 'task.run', payload, timeoutMs: 75_000, createdAt: 0 });

  it('hands an exec task over as a quoted shell line with its cwd and environment', () => {
    const a = taskAssignment(command({ taskId: 'task_1', attemptId: 'att_1', kind: 'exec', command: 'grep', args: ["it's", '$HOME'], cwd: '/srv/a b', env: { LANG: 'C' }, timeoutMs: 60_500 }));
    expect(a).toEqual({
      task: {
        task_id: 'cmd_1',
        task_type: 'command',
        priority: 'normal',
        timeout: 61,
        payload: { command: `cd '/srv/a b' && env LANG='C' 'grep' 'it'\\''s' '$HOME'`, timeout: 61 },
        requirements: { timeout_seconds: 61, max_retries: 0 },
        metadata: { steward_task_id: 'task_1', steward_attempt_id: 'att_1', steward_kind: 'exec' },
      },
    });
    const node = taskAssignment(command({ taskId: 't', attemptId: 'a', kind: 'script', interpreter: 'node', script: 'console.log(1)', timeoutMs: 1000 }));
    expect('task' in node && (node.task.payload as { command: string }).command).toBe(`'node' '-e' 'console.log(1)'`);
  });

  it('refuses a task.run that the scheduler did not make', () => {
    expect(taskAssignment(command({ command: 'true' }))).toMatchObject({ refused: { code: 'bad_payload' } });
    expect(taskAssignment(command({ taskId: 't', attemptId: 'a', kind: 'exec', timeoutMs: 1 }))).toEqual({ refused: { code: 'bad_payload', message: 'an exec task needs command' } });
  });

  it('reads both result shapes, and each way a task can end', () => {
    const ok = outcomeOf({ task_id: 'c', status: 'success', result_data: { echo: { message: 'hi' } }, execution_time_seconds: 1.5 });
    expect(ok.outcome).toEqual({ state: 'succeeded', result: { exitCode: 0, signal: null, durationMs: 1500, cpuMs: null, peakMemoryBytes: null, outputBytes: 25, truncated: false, tail: '{"echo":{"message":"hi"}}' } });
    expect(ok.output).toBe('{"echo":{"message":"hi"}}');
    expect(outcomeOf({ task_id: 'c', status: 'timeout', error_message: 'Task timed out after 300 seconds' }).outcome).toMatchObject({ state: 'timed_out', error: { code: 'timed_out', message: 'Task timed out after 300 seconds' } });
    expect(outcomeOf({ task_id: 'c', status: 'cancelled' }).outcome).toMatchObject({ state: 'cancelled', error: { code: 'cancelled' } });
    expect(outcomeOf({ task_id: 'c', status: 'failed', error_message: 'No handler registered for task type: command' }).outcome).toMatchObject({
      state: 'failed',
      result: { exitCode: null },
      error: { code: 'task_failed', message: 'No handler registered for task type: command' },
    });
    expect(outcomeOf({ task_id: 'c', status: 'completed', result: { output: 'x', exit_code: 2 } }).outcome).toMatchObject({ state: 'failed', error: { code: 'nonzero_exit', message: 'exited with code 2' } });
  });
});
