import type { Kysely } from 'kysely';
import type { Database, NodeCertificatesTable } from '../schema.js';

export async function insertNodeCertificate(db: Kysely<Database>, row: NodeCertificatesTable): Promise<void> {
  await db.insertInto('node_certificates').values(row).execute();
}

export async function listNodeCertificates(db: Kysely<Database>, nodeId: string): Promise<NodeCertificatesTable[]> {
  return db.selectFrom('node_certificates').selectAll().where('node_id', '=', nodeId).orderBy('issued_at', 'desc').execute();
}
