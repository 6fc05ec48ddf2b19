import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * Retire-Cluster's worker protocol (TCP, one JSON object per connection, one reply), as its
 * published worker speaks it and its design document describes it. Devices are Python programs
 * that send `null` for what they do not know, so every optional field also takes null. Each
 * string and list is bounded: what a device says ends up in a node's inventory and stats.
 */

/** Absent or null: Python's `None` for "unknown". */
function maybe<T extends TSchema>(schema: T) {
  return Type.Optional(Type.Union([schema, Type.Null()]));
}

const Text = (max = 255) => Type.String({ maxLength: max });
const Count = Type.Number({ minimum: 0, maximum: 1e6 });
/** Bytes or gigabytes; a device with more than an exabyte is lying. */
const Amount = Type.Number({ minimum: 0, maximum: 1e18 });
const Percent = Type.Number({ minimum: 0, maximum: 1e4 });
const Names = Type.Array(Text(100), { maxItems: 256 });

/** The largest message a device may send; Retire-Cluster's own server reads 4 KiB. */
export const RETIRE_CLUSTER_MAX_MESSAGE_BYTES = 64 * 1024;
/** The worker reads its reply with one `recv(8192)`: a longer reply would be cut mid-JSON. */
export const RETIRE_CLUSTER_MAX_REPLY_BYTES = 8 * 1024;
/** The worker's default heartbeat interval (`--heartbeat-interval`, seconds). */
export const RETIRE_CLUSTER_DEFAULT_HEARTBEAT_S = 60;

/** The message types a Steward gateway answers. */
export const RETIRE_CLUSTER_MESSAGE_TYPES = ['register', 'heartbeat', 'status', 'task_request', 'task_result'] as const;
export type RetireClusterMessageType = (typeof RETIRE_CLUSTER_MESSAGE_TYPES)[number];

/** `{message_type, sender_id, receiver_id?, message_id, timestamp, data}`, both ways. */
export const RetireClusterEnvelope = Type.Object({
  message_type: Type.String({ minLength: 1, maxLength: 64 }),
  sender_id: Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f]+$' }),
  receiver_id: maybe(Text(200)),
  target_id: maybe(Text(200)),
  message_id: maybe(Text(200)),
  timestamp: maybe(Text(64)),
  data: maybe(Type.Record(Type.String(), Type.Unknown())),
});
export type RetireClusterEnvelope = Static<typeof RetireClusterEnvelope>;

/** Capabilities: a list (the design document) or lists by group (the published profiler). */
const Capabilities = Type.Union([Names, Type.Record(Text(100), Names, { maxProperties: 64 })]);

/**
 * `register` data. The published worker sends its profile flat (`hostname`, `cpu_count`,
 * `memory_total_gb`, `storage_total_gb`…); the design document nests it (`device_info`,
 * `hardware_specs`). Both are read; unknown keys are ignored.
 */
export const RetireClusterRegisterData = Type.Object({
  device_id: maybe(Text(200)),
  hostname: maybe(Text()),
  platform: maybe(Text(64)),
  role: maybe(Text(64)),
  ip_address: maybe(Text(64)),
  cpu_count: maybe(Count),
  cpu_count_logical: maybe(Count),
  memory_total_gb: maybe(Amount),
  storage_total_gb: maybe(Amount),
  storage_free_gb: maybe(Amount),
  max_concurrent_tasks: maybe(Type.Integer({ minimum: 0, maximum: 10_000 })),
  heartbeat_interval: maybe(Type.Number({ minimum: 1, maximum: 86_400 })),
  tags: maybe(Names),
  capabilities: maybe(Capabilities),
  platform_details: maybe(
    Type.Object({ system: maybe(Text(64)), release: maybe(Text(200)), machine: maybe(Text(64)), python_version: maybe(Text(64)) }),
  ),
  worker_config: maybe(Type.Object({ heartbeat_interval: maybe(Type.Number({ minimum: 1, maximum: 86_400 })) })),
  device_info: maybe(
    Type.Object({
      hostname: maybe(Text()),
      platform: maybe(Text(64)),
      architecture: maybe(Text(64)),
      python_version: maybe(Text(64)),
      role: maybe(Text(64)),
    }),
  ),
  hardware_specs: maybe(
    Type.Object({
      cpu_cores: maybe(Count),
      memory_total: maybe(Amount),
      disk_space: maybe(Amount),
      network_interfaces: maybe(Names),
    }),
  ),
});
export type RetireClusterRegisterData = Static<typeof RetireClusterRegisterData>;

/** A heartbeat's metrics: the published profiler's names and the design document's. */
export const RetireClusterMetrics = Type.Object({
  cpu_usage: maybe(Percent),
  memory_usage: maybe(Percent),
  memory_available_gb: maybe(Amount),
  storage_usage: maybe(Percent),
  disk_usage: maybe(Percent),
  storage_free_gb: maybe(Amount),
  load_average: maybe(Type.Array(Type.Number({ minimum: 0, maximum: 1e6 }), { minItems: 1, maxItems: 3 })),
  load_average_1m: maybe(Type.Number({ minimum: 0, maximum: 1e6 })),
  load_average_5m: maybe(Type.Number({ minimum: 0, maximum: 1e6 })),
  load_average_15m: maybe(Type.Number({ minimum: 0, maximum: 1e6 })),
  uptime: maybe(Type.Number({ minimum: 0, maximum: 1e12 })),
  network_bytes_sent: maybe(Amount),
  network_bytes_recv: maybe(Amount),
});
export type RetireClusterMetrics = Static<typeof RetireClusterMetrics>;

/** `heartbeat` data: `metrics` (published worker) or `system_metrics` (design document). */
export const RetireClusterHeartbeatData = Type.Object({
  metrics: maybe(RetireClusterMetrics),
  system_metrics: maybe(RetireClusterMetrics),
  status: maybe(Text(64)),
  active_tasks: maybe(Count),
});
export type RetireClusterHeartbeatData = Static<typeof RetireClusterHeartbeatData>;

/** What a task printed or returned: text, or any JSON value the handler returned. */
const Output = Type.Unknown();

/**
 * `task_result` data. The design document: `{task_id, status: completed|failed, execution_time,
 * result: {output, exit_code, metrics: {cpu_time, memory_peak}}}`; the published executor's
 * TaskResult: `{task_id, status: success|failed|timeout|cancelled, result_data, error_message,
 * execution_time_seconds}`.
 */
export const RetireClusterTaskResultData = Type.Object({
  task_id: Type.String({ minLength: 1, maxLength: 100 }),
  status: Type.String({ minLength: 1, maxLength: 64 }),
  execution_time: maybe(Type.Number({ minimum: 0, maximum: 1e9 })),
  execution_time_seconds: maybe(Type.Number({ minimum: 0, maximum: 1e9 })),
  error_message: maybe(Text(4096)),
  error: maybe(Text(4096)),
  result_data: maybe(Output),
  result: maybe(
    Type.Object({
      output: maybe(Output),
      exit_code: maybe(Type.Integer({ minimum: -1_000_000, maximum: 1_000_000 })),
      return_code: maybe(Type.Integer({ minimum: -1_000_000, maximum: 1_000_000 })),
      stdout: maybe(Type.String()),
      stderr: maybe(Type.String()),
      metrics: maybe(Type.Object({ cpu_time: maybe(Type.Number({ minimum: 0 })), memory_peak: maybe(Type.Number({ minimum: 0 })) })),
    }),
  ),
});
export type RetireClusterTaskResultData = Static<typeof RetireClusterTaskResultData>;
