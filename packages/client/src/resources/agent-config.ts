import type { ConfigDocument, ConfigDocumentPut, NodeConfigView } from '@steward/protocol';
import { enc } from '../transport.js';
import { Resource, type List } from './resource.js';

/** Desired agent configuration documents and each node's effective config. */
export class AgentConfigApi extends Resource {
  /** Creates or replaces the document `name`; nodes it targets get the new effective config pushed. */
  async putAgentConfig(name: string, body: ConfigDocumentPut): Promise<ConfigDocument> {
    return this.http.json<ConfigDocument>('PUT', `/agent-config/${enc(name)}`, { body });
  }

  async listAgentConfigs(): Promise<List<ConfigDocument>> {
    return this.http.json<List<ConfigDocument>>('GET', '/agent-config');
  }

  async getAgentConfig(name: string): Promise<ConfigDocument> {
    return this.http.json<ConfigDocument>('GET', `/agent-config/${enc(name)}`);
  }

  async deleteAgentConfig(name: string): Promise<void> {
    await this.http.request('DELETE', `/agent-config/${enc(name)}`);
  }

  /** The node's effective config, which document gave each key, and what its agent applied. */
  async nodeConfig(idOrName: string): Promise<NodeConfigView> {
    return this.http.json<NodeConfigView>('GET', `/nodes/${enc(idOrName)}/config`);
  }
}
