/** A client certificate signed for a node at enrollment (the PEM itself is not kept). */
export interface NodeCertificatesTable {
  serial: string;
  node_id: string;
  issued_at: number;
  expires_at: number;
}

/** The tables of the control plane's CA. */
export interface CertificateTables {
  node_certificates: NodeCertificatesTable;
}
