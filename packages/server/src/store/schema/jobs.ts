export interface JobsTable {
  id: string;
  request_id: string | null;
  request_hash: string | null;
  type: string;
  payload: string;
  target: string;
  batch_size: number | null;
  state: string;
  total: number;
  created_at: number;
  finished_at: number | null;
}

/** The tables of jobs. */
export interface JobTables {
  jobs: JobsTable;
}
