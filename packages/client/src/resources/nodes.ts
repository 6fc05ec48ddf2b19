import type { Admission, AdmissionApprove, AdmissionListQuery, Node, NodeCredentialRotation, NodeListQuery, NodePatch } from '@steward/protocol';
import { enc } from '../transport.js';
import { Resource, type List } from './resource.js';

export class NodesApi extends Resource {
  async listNodes(query: NodeListQuery = {}): Promise<List<Node>> {
    return this.http.json<List<Node>>('GET', '/nodes', { query: { ...query } });
  }

  /**
   * The node listing as CSV (RFC 4180, a header line first): a few columns per node instead of
   * the whole node with its command catalog (~25 KB each), for callers that need little of it.
   */
  async listNodesCsv(query: Omit<NodeListQuery, 'format'> = {}): Promise<string> {
    return this.http.text('/nodes', { query: { ...query, format: 'csv' }, accept: 'text/csv' });
  }

  async getNode(idOrName: string): Promise<Node> {
    return this.http.json<Node>('GET', `/nodes/${enc(idOrName)}`);
  }

  async patchNode(idOrName: string, patch: NodePatch): Promise<Node> {
    return this.http.json<Node>('PATCH', `/nodes/${enc(idOrName)}`, { body: patch });
  }

  async deleteNode(idOrName: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.http.request('DELETE', `/nodes/${enc(idOrName)}`, { query: { force: opts.force ? 'true' : undefined } });
  }

  /** Sends the (online) node a new credential; the old one stops working once the agent stored it. */
  async rotateNodeCredential(idOrName: string): Promise<NodeCredentialRotation> {
    return this.http.json<NodeCredentialRotation>('POST', `/nodes/${enc(idOrName)}/rotate-credential`);
  }

  /** Refuses the node's credential from now on and closes its connection; it must enroll again. */
  async revokeNode(idOrName: string): Promise<Node> {
    return this.http.json<Node>('POST', `/nodes/${enc(idOrName)}/revoke`);
  }
}

/** Devices of credential-less seed protocols (Retire-Cluster, BootAgent) waiting to become nodes. */
export class AdmissionsApi extends Resource {
  async listAdmissions(query: AdmissionListQuery = {}): Promise<List<Admission>> {
    return this.http.json<List<Admission>>('GET', '/admissions', { query: { ...query } });
  }

  /** By admission id or the device's own id; makes the node. */
  async approveAdmission(id: string, body: AdmissionApprove = {}): Promise<Admission> {
    return this.http.json<Admission>('POST', `/admissions/${enc(id)}/approve`, { body });
  }

  async rejectAdmission(id: string): Promise<Admission> {
    return this.http.json<Admission>('POST', `/admissions/${enc(id)}/reject`);
  }
}
