export interface MetaTable {
  key: string;
  value: string;
}

/** The tables of key/value facts about the database itself. */
export interface MetaTables {
  meta: MetaTable;
}
