export interface ArtifactsTable {
  sha256: string;
  size: number;
  name: string | null;
  created_at: number;
  created_by: string | null;
}

/** The tables of artifacts. */
export interface ArtifactTables {
  artifacts: ArtifactsTable;
}
