import { newId } from '@steward/protocol';
import { newCommandRow } from '../../src/commands/service.js';
import type { CommandsTable, EnrollmentTokensTable, JobsTable, NodesTable } from '../../src/store/schema.js';
import { EMPTY_INVENTORY, toJson } from '../../src/store/rows.js';

/** A fixed clock for store tests: times are plain millisecond numbers. */
export const T0 = 1_700_000_000_000;

export function enrollmentTokenRow(over: Partial<EnrollmentTokensTable> = {}): EnrollmentTokensTable {
  const id = over.id ?? newId('enr');
  return {
    id,
    token_hash: `hash-${id}`,
    expires_at: T0 + 3_600_000,
    uses_allowed: 1,
    uses: 0,
    labels: toJson({}),
    note: null,
    created_at: T0,
    ...over,
  };
}

export function nodeRow(over: Partial<NodesTable> = {}): NodesTable {
  const id = over.id ?? newId('node');
  return {
    id,
    name: `n-${id.slice(-8)}`,
    credential_hash: `cred-${id}`,
    status: 'online',
    labels: toJson({}),
    inventory: toJson(EMPTY_INVENTORY),
    stats: null,
    heartbeat_interval_ms: 15_000,
    connection_id: null,
    last_seen_at: T0,
    status_changed_at: T0,
    created_at: T0,
    protocol: 'steward',
    external_id: null,
    revoked_at: null,
    next_credential_hash: null,
    version_skew: null,
    ...over,
  };
}

export function commandRow(over: Partial<CommandsTable> & { node_id: string }): CommandsTable {
  const spec = { type: 'exec.run', payload: { argv: ['true'] }, timeoutMs: 600_000, ttlMs: 3_600_000 };
  return { ...newCommandRow(spec, over.node_id, T0), ...over };
}

export function jobRow(over: Partial<JobsTable> = {}): JobsTable {
  return {
    id: newId('job'),
    request_id: null,
    request_hash: null,
    type: 'exec.run',
    payload: toJson({ argv: ['true'] }),
    target: toJson({ all: true }),
    batch_size: null,
    state: 'running',
    total: 0,
    created_at: T0,
    finished_at: null,
    ...over,
  };
}

/**
 * Commands of a job, `created_at` increasing by 1 ms each so "oldest first" is well defined
 * (ids made in the same millisecond do not sort by creation).
 */
export function jobCommandRows(
  jobId: string,
  nodeIds: string[],
  over: Partial<CommandsTable> = {},
): CommandsTable[] {
  return nodeIds.map((node_id, i) => commandRow({ node_id, job_id: jobId, created_at: T0 + i, ...over }));
}
