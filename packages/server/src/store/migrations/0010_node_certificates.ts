import type { Kysely } from 'kysely';
import { refuseDown } from './refuse-down.js';

export async function up(db: Kysely<any>): Promise<void> {
  const big = 'bigint' as const;
  // Client certificates (mTLS) the CA signed at enrollment, by serial: which node holds which
  // one and until when, so a certificate can be traced (and later revoked) by what it shows.
  await db.schema
    .createTable('node_certificates')
    .addColumn('serial', 'text', (c) => c.primaryKey())
    .addColumn('node_id', 'text', (c) => c.notNull())
    .addColumn('issued_at', big, (c) => c.notNull())
    .addColumn('expires_at', big, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('node_certificates_node').on('node_certificates').column('node_id').execute();
}

export const down = refuseDown;
