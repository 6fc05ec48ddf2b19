export interface EnrollmentTokensTable {
  id: string;
  token_hash: string;
  expires_at: number;
  uses_allowed: number;
  uses: number;
  labels: string;
  note: string | null;
  created_at: number;
}

/** The tables of enrollment tokens. */
export interface EnrollmentTables {
  enrollment_tokens: EnrollmentTokensTable;
}
