import type { Kysely } from 'kysely';
import { refuseDown } from './refuse-down.js';

export async function up(db: Kysely<any>): Promise<void> {
  // The protocol version an authenticated agent was last refused for (JSON: agentProtocol,
  // serverProtocol, at), so the node list shows a node the control plane cannot serve; cleared
  // by its next accepted hello.
  await db.schema.alterTable('nodes').addColumn('version_skew', 'text').execute();
}

export const down = refuseDown;
