import type { Command, CommandError, CommandProgress, CommandState } from '@steward/protocol';
import { fromJson } from '../store/rows.js';
import type { CommandsTable } from '../store/schema.js';

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
    progress: fromJson<CommandProgress>(r.progress),
  };
}
