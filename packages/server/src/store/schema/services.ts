export interface ServicesTable {
  name: string;
  revision: number;
  /** ServicePut as JSON. */
  spec: string;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

export interface ServiceNodesTable {
  service: string;
  node_id: string;
  revision: number | null;
  version: string | null;
  state: string;
  /** ServiceNodeReport as JSON. */
  report: string;
  updated_at: number;
}

/** The tables of services: desired specs and what nodes report. */
export interface ServiceTables {
  services: ServicesTable;
  service_nodes: ServiceNodesTable;
}
