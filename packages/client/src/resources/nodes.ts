import type { Node, NodeListQuery, NodePatch } from '@steward/protocol';
import { enc } from '../transport.js';
import { Resource, type List } from './resource.js';

export class NodesApi extends Resource {
  async listNodes(query: NodeListQuery = {}): Promise<List<Node>> {
    return this.http.json<List<Node>>('GET', '/nodes', { query: { ...query } });
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
}
