import type { AgentUpgrade, AgentUpgradeCreate, AgentUpgradeDetail, AgentUpgradeState } from '@steward/protocol';
import { enc } from '../transport.js';
import { Resource, type List } from './resource.js';

/** Fleet-wide agent upgrades (docs/upgrades.md). */
export class AgentUpgradesApi extends Resource {
  async createAgentUpgrade(body: AgentUpgradeCreate): Promise<AgentUpgradeDetail> {
    return this.http.json<AgentUpgradeDetail>('POST', '/agent-upgrades', { body });
  }

  async listAgentUpgrades(q: { state?: AgentUpgradeState; limit?: number } = {}): Promise<List<AgentUpgrade>> {
    const query = new URLSearchParams();
    if (q.state) query.set('state', q.state);
    if (q.limit) query.set('limit', String(q.limit));
    const qs = query.toString();
    return this.http.json<List<AgentUpgrade>>('GET', `/agent-upgrades${qs ? `?${qs}` : ''}`);
  }

  async getAgentUpgrade(id: string): Promise<AgentUpgradeDetail> {
    return this.http.json<AgentUpgradeDetail>('GET', `/agent-upgrades/${enc(id)}`);
  }

  async pauseAgentUpgrade(id: string): Promise<AgentUpgradeDetail> {
    return this.http.json<AgentUpgradeDetail>('POST', `/agent-upgrades/${enc(id)}/pause`);
  }

  async resumeAgentUpgrade(id: string): Promise<AgentUpgradeDetail> {
    return this.http.json<AgentUpgradeDetail>('POST', `/agent-upgrades/${enc(id)}/resume`);
  }

  async abortAgentUpgrade(id: string): Promise<AgentUpgradeDetail> {
    return this.http.json<AgentUpgradeDetail>('POST', `/agent-upgrades/${enc(id)}/abort`);
  }
}
