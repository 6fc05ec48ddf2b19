import type { Command } from '@steward/protocol';
import { iso, type Column } from '../http/listing.js';

/** Columns of the plain-text and CSV command listing (`?format=text|csv`). */
export const COMMAND_COLUMNS: Column<Command>[] = [
  { header: 'id', value: (c) => c.id },
  { header: 'node_id', value: (c) => c.nodeId },
  { header: 'job_id', value: (c) => c.jobId ?? '' },
  { header: 'type', value: (c) => c.type },
  { header: 'state', value: (c) => c.state },
  { header: 'created', value: (c) => iso(c.createdAt) },
  { header: 'finished', value: (c) => iso(c.finishedAt) },
  { header: 'error', value: (c) => c.error?.message ?? '' },
];
