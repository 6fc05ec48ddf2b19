import type { Job, JobState } from '@steward/protocol';
import { fromJson } from '../store/rows.js';
import type { JobsTable } from '../store/schema.js';

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
