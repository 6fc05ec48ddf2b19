export interface ApiTokensTable {
  id: string;
  name: string;
  role: string;
  token_hash: string;
  created_at: number;
  last_used_at: number | null;
}

/** The tables of api tokens for the HTTP API. */
export interface TokenTables {
  api_tokens: ApiTokensTable;
}
