import type { Service, ServiceLogsResult, ServiceNodeReport, ServicePut } from '@steward/protocol';
import { enc } from '../transport.js';
import { Resource, type List } from './resource.js';

export class ServicesApi extends Resource {
  /** Creates or changes a service's desired state; `created` when it did not exist. */
  async putService(name: string, spec: ServicePut): Promise<{ service: Service; created: boolean }> {
    const res = await this.http.request<Service>('PUT', `/services/${enc(name)}`, { body: spec });
    return { service: res.body, created: res.status === 201 };
  }

  async listServices(): Promise<List<Service>> {
    return this.http.json<List<Service>>('GET', '/services');
  }

  async getService(name: string): Promise<Service> {
    return this.http.json<Service>('GET', `/services/${enc(name)}`);
  }

  /** Uninstalls the service from every node that has it. */
  async deleteService(name: string): Promise<void> {
    await this.http.request('DELETE', `/services/${enc(name)}`);
  }

  /** `start`, `stop`, `restart` or `status` of a service on one node; answers the node's view. */
  async serviceAction(name: string, verb: 'start' | 'stop' | 'restart' | 'status', node: string): Promise<ServiceNodeReport> {
    return this.http.json<ServiceNodeReport>('POST', `/services/${enc(name)}/${verb}`, { body: { node } });
  }

  /** A service's output on one node: the tail, or from `offset` (pass back the answer's offset to follow). */
  async serviceLogs(name: string, opts: { node: string; offset?: number; maxBytes?: number; signal?: AbortSignal }): Promise<ServiceLogsResult> {
    const { signal, ...query } = opts;
    return this.http.json<ServiceLogsResult>('GET', `/services/${enc(name)}/logs`, { query: { ...query }, signal });
  }
}
