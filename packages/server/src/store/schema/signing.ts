/** A public key the control plane signs agent commands with (the private half is a file per replica). */
export interface SigningKeysTable {
  id: string;
  public_key: string;
  created_at: number;
  /** Set when rotated out: signatures by it are refused after this moment. */
  not_after: number | null;
}

/** The tables of command signing. */
export interface SigningTables {
  signing_keys: SigningKeysTable;
}
