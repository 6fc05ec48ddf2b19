/** Rows or ids per statement: stays under SQLite's and PostgreSQL's bound-parameter limits. */
export const CHUNK = 500;
