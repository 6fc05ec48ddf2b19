import type { Command, CommandError, CommandState, EnrollmentToken, Inventory, Job, JobState, Labels, Node, NodeStatus, Stats } from '@steward/protocol';
import type { CommandsTable, EnrollmentTokensTable, JobsTable, NodesTable } from './schema.js';

export function toJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}

export function fromJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

export const EMPTY_INVENTORY: Inventory = {
  hostname: '',
  addresses: [],
  os: { platform: '', release: '' },
  arch: '',
  agentVersion: '',
  cpuCores: 0,
  memoryBytes: 0,
  disks: [],
  capabilities: [],
  modules: [],
  commandTypes: [],
};

export function nodeFromRow(r: NodesTable): Node {
  const inv = fromJson<Inventory>(r.inventory) ?? EMPTY_INVENTORY;
  return {
    id: r.id,
    name: r.name,
    status: r.status as NodeStatus,
    connected: r.connection_id !== null,
    labels: fromJson<Labels>(r.labels) ?? {},
    hostname: inv.hostname,
    addresses: inv.addresses,
    os: inv.os,
    arch: inv.arch,
    agentVersion: inv.agentVersion,
    cpuCores: inv.cpuCores,
    memoryBytes: inv.memoryBytes,
    disks: inv.disks,
    capabilities: inv.capabilities,
    modules: inv.modules,
    commandTypes: inv.commandTypes,
    stats: fromJson<Stats>(r.stats),
    heartbeatIntervalMs: r.heartbeat_interval_ms,
    lastSeenAt: r.last_seen_at,
    statusChangedAt: r.status_changed_at,
    createdAt: r.created_at,
  };
}

export function commandFromRow(r: CommandsTable): Command {
  return {
    id: r.id,
    requestId: r.request_id,
    nodeId: r.node_id,
    jobId: r.job_id,
    type: r.type,
    payload: fromJson(r.payload),
    state: r.state as CommandState,
    timeoutMs: r.timeout_ms,
    ttlMs: r.ttl_ms,
    expiresAt: r.expires_at,
    createdAt: r.created_at,
    dispatchedAt: r.dispatched_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    deliveries: r.deliveries,
    result: fromJson(r.result),
    error: fromJson<CommandError>(r.error),
  };
}

export function jobFromRow(r: JobsTable, counts: Record<string, number>): Job {
  return {
    id: r.id,
    requestId: r.request_id,
    type: r.type,
    payload: fromJson(r.payload),
    target: fromJson(r.target),
    batchSize: r.batch_size,
    state: r.state as JobState,
    total: r.total,
    counts,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
  };
}

export function enrollmentTokenFromRow(r: EnrollmentTokensTable, now: number): EnrollmentToken {
  return {
    id: r.id,
    expiresAt: r.expires_at,
    usesAllowed: r.uses_allowed,
    usesLeft: Math.max(0, r.uses_allowed - r.uses),
    labels: fromJson<Labels>(r.labels) ?? {},
    note: r.note,
    createdAt: r.created_at,
    expired: r.expires_at <= now,
  };
}
