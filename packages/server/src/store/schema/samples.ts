export interface NodeSamplesTable {
  node_id: string;
  at: number;
  cpu_percent: number;
  memory_used: number;
  memory_total: number;
  disk_used: number;
  disk_total: number;
  load1: number;
  load5: number;
  load15: number;
}

/** The tables of recent heartbeat figures per node. */
export interface SampleTables {
  node_samples: NodeSamplesTable;
}
