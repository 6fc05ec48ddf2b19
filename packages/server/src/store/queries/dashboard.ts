import { sql, type Kysely } from 'kysely';
import type { DialectName } from '../connect.js';
import type { Database } from '../schema.js';

export interface NodeSummaryRow {
  id: string;
  name: string;
  status: string;
  connection_id: string | null;
  protocol: string;
  labels: string;
  stats: string | null;
  last_seen_at: number | null;
  hostname: string | null;
  agent_version: string | null;
  version_skew?: string | null;
}

/**
 * Every node with only what the table shows. The inventory (tens of kilobytes with the command
 * catalog) is not read: its two fields come out in the database.
 */
export async function listNodeSummaryRows(db: Kysely<Database>, dialect: DialectName, limit: number): Promise<NodeSummaryRow[]> {
  const field = (name: string) =>
    dialect === 'postgres' ? sql<string | null>`(inventory::json ->> ${name})` : sql<string | null>`json_extract(inventory, ${'$.' + name})`;
  return db
    .selectFrom('nodes')
    .select(['id', 'name', 'status', 'connection_id', 'protocol', 'labels', 'stats', 'last_seen_at', 'version_skew'])
    .select([field('hostname').as('hostname'), field('agentVersion').as('agent_version')])
    .orderBy('name')
    .limit(limit)
    .execute();
}
