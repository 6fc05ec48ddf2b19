export interface AlertsTable {
  id: string;
  key: string;
  state: string;
  source: string;
  node_id: string | null;
  severity: string;
  summary: string;
  details: string;
  count: number;
  first_fired_at: number;
  last_fired_at: number;
  resolved_at: number | null;
  resolve_summary: string | null;
  acked_at: number | null;
  acked_by: string | null;
}

/** The tables of alerts. */
export interface AlertTables {
  alerts: AlertsTable;
}
