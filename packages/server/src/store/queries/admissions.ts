import type { Kysely } from 'kysely';
import { ADMISSION_TRANSITIONS, predecessorsIn, type AdmissionState } from '@steward/protocol';
import type { AdmissionsTable, Database } from '../schema.js';

export async function insertAdmission(db: Kysely<Database>, row: AdmissionsTable): Promise<void> {
  await db.insertInto('admissions').values(row).execute();
}

export async function findAdmission(db: Kysely<Database>, protocol: string, externalId: string): Promise<AdmissionsTable | undefined> {
  return db.selectFrom('admissions').selectAll().where('protocol', '=', protocol).where('external_id', '=', externalId).executeTakeFirst();
}

/** By id, or by the device's own id when that is unambiguous across protocols. */
export async function getAdmission(db: Kysely<Database>, idOrExternal: string): Promise<AdmissionsTable | undefined> {
  const byId = await db.selectFrom('admissions').selectAll().where('id', '=', idOrExternal).executeTakeFirst();
  if (byId) return byId;
  const rows = await db.selectFrom('admissions').selectAll().where('external_id', '=', idOrExternal).limit(2).execute();
  return rows.length === 1 ? rows[0] : undefined;
}

export async function listAdmissions(db: Kysely<Database>, state?: AdmissionState): Promise<AdmissionsTable[]> {
  let q = db.selectFrom('admissions').selectAll().orderBy('created_at');
  if (state) q = q.where('state', '=', state);
  return q.execute();
}

/** A pending device asked again: what it says now and when. */
export async function touchAdmission(
  db: Kysely<Database>,
  id: string,
  fields: Pick<AdmissionsTable, 'hostname' | 'source' | 'profile' | 'seen_at'>,
): Promise<void> {
  await db.updateTable('admissions').set(fields).where('id', '=', id).execute();
}

/** Moves an admission to `to` only from a state the transition table allows; undefined when it did not move. */
export async function decideAdmission(
  db: Kysely<Database>,
  id: string,
  to: AdmissionState,
  fields: Pick<AdmissionsTable, 'decided_at' | 'decided_by'> & Partial<Pick<AdmissionsTable, 'node_id'>>,
): Promise<AdmissionsTable | undefined> {
  const from = predecessorsIn(ADMISSION_TRANSITIONS, to);
  return db.updateTable('admissions').set({ ...fields, state: to }).where('id', '=', id).where('state', 'in', from).returningAll().executeTakeFirst();
}

export async function deleteAdmission(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('admissions').where('id', '=', id).execute();
}
